import { describe, expect, test } from 'vitest';
import { Cluster, KeyValueStore, KvError, VirtualClock, type NodeFactory } from '@scale-lab/kit';
import { directKvClient } from '../../../labs/kit/kv.ts';
import { DEL_IF_EQUALS_SCRIPT, redisTransport } from '../../../labs/kit/kv-redis.ts';
import { kvErrorKind } from '../../../labs/kit/kv-errors.ts';
import { globMatches } from '../../../labs/kit/kv-glob.ts';

/** A store on a clock the test moves, and its client with no network in between. */
function setup(clock: { now(): number } = { now: () => 0 }) {
  const store = new KeyValueStore(clock as VirtualClock);
  const kv = directKvClient(store);
  return { store, kv };
}

function timed() {
  const time = { now: 0 };
  return { time, ...setup({ now: () => time.now }) };
}

/** The KvError a call rejects with. */
async function failure(call: Promise<unknown>): Promise<KvError> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KvError);
  return err as KvError;
}

describe('strings and expiry', () => {
  test('SET with EX, PX, NX and XX; a key lives through its last millisecond, as in Redis', async () => {
    const { time, kv } = timed();
    expect(await kv.get('a')).toBeNull();
    expect(await kv.set('a', '1')).toBe('OK');
    expect(await kv.set('a', '2', { nx: true })).toBeNull();
    expect(await kv.get('a')).toBe('1');
    expect(await kv.set('b', '1', { xx: true })).toBeNull();
    expect(await kv.set('a', '3', { xx: true, ex: 10 })).toBe('OK');
    expect(await kv.ttl('a')).toBe(10);
    time.now = 10_000;
    expect(await kv.get('a')).toBe('3');
    expect(await kv.pttl('a')).toBe(0);
    time.now = 10_001;
    expect(await kv.get('a')).toBeNull();
    expect(await kv.ttl('a')).toBe(-2);
  });

  test('TTL rounds to the nearest second, so a key with 400 ms left answers 0 and one with 1.5 s answers 2', async () => {
    const { time, kv } = timed();
    await kv.set('p', 'x', { px: 1500 });
    expect(await kv.ttl('p')).toBe(2);
    time.now = 1001;
    expect(await kv.ttl('p')).toBe(0);
    expect(await kv.pttl('p')).toBe(499);
    expect(await kv.exists('p')).toBe(1);
  });

  test('SET refuses what Redis refuses, with the error kind a program can test', async () => {
    const { kv } = timed();
    expect((await failure(kv.set('k', 'v', { ex: 1.5 }))).kind).toBe('not-an-integer');
    expect((await failure(kv.set('k', 'v', { ex: 0 }))).message).toBe("ERR invalid expire time in 'set' command");
    expect((await failure(kv.set('k', 'v', { nx: true, xx: true }))).kind).toBe('syntax');
    expect((await failure(kv.set('k', 'v', { ex: 10, px: 1200 }))).kind).toBe('syntax');
    expect((await failure(kv.set('k', 'v', { ex: 10, keepTtl: true }))).kind).toBe('syntax');
    const notAString = await failure(kv.set('k', { a: 1 } as unknown as string));
    expect(notAString.kind).toBe('argument');
    expect(notAString.message).toMatch(/JSON\.stringify/);
    expect(await kv.exists('k')).toBe(0);
  });

  test('SET GET answers the old value; KEEPTTL keeps the expiry', async () => {
    const { time, kv } = timed();
    expect(await kv.set('s', 'one', { get: true, ex: 100 })).toBeNull();
    time.now = 30_000;
    expect(await kv.set('s', 'two', { get: true, keepTtl: true })).toBe('one');
    expect(await kv.ttl('s')).toBe(70);
    expect(await kv.set('s', 'three')).toBe('OK');
    expect(await kv.ttl('s')).toBe(-1);
    await kv.rpush('l', 'x');
    expect((await failure(kv.set('l', 'y', { get: true }))).kind).toBe('wrong-type');
  });

  test('EXPIRE refuses NaN and fractions, deletes on zero, and honours NX/XX/GT/LT', async () => {
    const { kv } = timed();
    await kv.set('k', 'v');
    expect((await failure(kv.expire('k', NaN))).kind).toBe('not-an-integer');
    expect((await failure(kv.expire('k', 1.5))).kind).toBe('not-an-integer');
    expect((await failure(kv.expire('k', 1e16))).kind).toBe('invalid-expire');
    expect((await failure(kv.expire('k', 10, 'YY' as 'NX'))).message).toBe('ERR Unsupported option YY');
    expect(await kv.expire('k', 10, 'XX')).toBe(0);
    expect(await kv.expire('k', 10, 'NX')).toBe(1);
    expect(await kv.expire('k', 5, 'GT')).toBe(0);
    expect(await kv.pexpire('k', 5000, 'LT')).toBe(1);
    expect(await kv.pttl('k')).toBe(5000);
    expect(await kv.persist('k')).toBe(1);
    expect(await kv.ttl('k')).toBe(-1);
    expect(await kv.expire('k', 0)).toBe(1);
    expect(await kv.exists('k')).toBe(0);
  });

  test('INCR reads integers as Redis does: "007", " 7" and "1.5" are not integers', async () => {
    const { kv } = timed();
    for (const text of ['007', ' 7', '1.5', '+1', '-0', '']) {
      await kv.set('n', text);
      const err = await failure(kv.incr('n'));
      expect(err.message).toBe('ERR value is not an integer or out of range');
      expect(err.kind).toBe('not-an-integer');
    }
    await kv.set('n', '9223372036854775807');
    expect((await failure(kv.incr('n'))).kind).toBe('overflow');
    await kv.set('n', '41', { ex: 60 });
    expect(await kv.incr('n')).toBe(42);
    expect(await kv.incrby('n', 8)).toBe(50);
    expect(await kv.decrby('n', 60)).toBe(-10);
    expect(await kv.decr('n')).toBe(-11);
    expect(await kv.ttl('n')).toBe(60);
    expect((await failure(kv.incrby('n', 0.5))).kind).toBe('not-an-integer');
  });

  test('MGET, DEL, EXISTS, TYPE; commands with no keys are arity errors', async () => {
    const { kv } = timed();
    await kv.set('a', '1');
    await kv.rpush('l', 'x');
    expect(await kv.mget('a', 'l', 'missing')).toEqual(['1', null, null]);
    expect(await kv.exists('a', 'a', 'l', 'missing')).toBe(3);
    expect(await kv.type('l')).toBe('list');
    expect(await kv.type('missing')).toBe('none');
    expect((await failure(kv.del())).message).toBe("ERR wrong number of arguments for 'del' command");
    expect(await kv.del('a', 'l', 'missing')).toBe(2);
  });

  test('delIfEquals releases a lock only for the token that holds it', async () => {
    const { kv } = timed();
    await kv.set('lock', 'mine', { nx: true, px: 5000 });
    expect(await kv.delIfEquals('lock', 'theirs')).toBe(0);
    expect(await kv.get('lock')).toBe('mine');
    expect(await kv.delIfEquals('lock', 'mine')).toBe(1);
    expect(await kv.delIfEquals('lock', 'mine')).toBe(0);
    await kv.rpush('queue', 'job');
    expect((await failure(kv.delIfEquals('queue', 'job'))).kind).toBe('wrong-type');
  });
});

describe('KEYS glob patterns, matched as Redis matches them', () => {
  test.each([
    ['session:*', 'session:1', true],
    ['*:?', 'product:1', true],
    ['h[ae]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['h[b-a]llo', 'hbllo', true],
    ['x\\*', 'x*', true],
    ['x\\*', 'xy', false],
    ['h\\[1]', 'h[1]', true],
    ['[', '[', false],
    ['[]', ']', false],
    ['caf?', 'café', false],
    ['caf??', 'café', true],
  ])('%s against %s: %s', (pattern, key, expected) => {
    expect(globMatches(pattern, key)).toBe(expected);
  });

  test('KEYS answers live keys, sorted', async () => {
    const { time, kv } = timed();
    await kv.set('session:2', 'b');
    await kv.set('session:1', 'a', { px: 10 });
    await kv.set('product:1', 'c');
    expect(await kv.keys('session:*')).toEqual(['session:1', 'session:2']);
    time.now = 11;
    expect(await kv.keys('*')).toEqual(['product:1', 'session:2']);
  });
});

describe('lists', () => {
  test('push, pop, range and length; an emptied list is gone; RPUSH with no values is refused and leaves nothing', async () => {
    const { kv } = timed();
    expect((await failure(kv.rpush('q'))).kind).toBe('arity');
    expect(await kv.exists('q')).toBe(0);
    expect(await kv.set('q', 'free', { nx: true })).toBe('OK');
    await kv.del('q');
    expect(await kv.rpush('q', 'a', 'b')).toBe(2);
    expect(await kv.lpush('q', 'y', 'z')).toBe(4);
    expect(await kv.lrange('q', 0, -1)).toEqual(['z', 'y', 'a', 'b']);
    expect(await kv.lrange('q', -2, 10)).toEqual(['a', 'b']);
    expect((await failure(kv.lrange('q', 0, 1.5))).kind).toBe('not-an-integer');
    expect(await kv.lpop('q')).toBe('z');
    expect(await kv.rpop('q')).toBe('b');
    expect(await kv.lrem('q', 0, 'y')).toBe(1);
    expect(await kv.ltrim('q', 0, 0)).toBe('OK');
    expect(await kv.rpop('q')).toBe('a');
    expect(await kv.rpop('q')).toBeNull();
    expect(await kv.exists('q')).toBe(0);
    await kv.rpush('l', 'x');
    expect((await failure(kv.get('l'))).kind).toBe('wrong-type');
  });

  test('LMOVE moves one element atomically, and refuses a destination that is not a list', async () => {
    const { kv } = timed();
    await kv.rpush('jobs', 'j1', 'j2');
    expect(await kv.lmove('jobs', 'processing', 'LEFT', 'RIGHT')).toBe('j1');
    expect(await kv.lrange('processing', 0, -1)).toEqual(['j1']);
    await kv.set('s', 'x');
    expect((await failure(kv.lmove('jobs', 's', 'LEFT', 'LEFT'))).kind).toBe('wrong-type');
    expect((await failure(kv.lmove('jobs', 'processing', 'UP' as 'LEFT', 'LEFT'))).kind).toBe('syntax');
    expect(await kv.lmove('missing', 's', 'LEFT', 'LEFT')).toBeNull();
    expect(await kv.lmove('jobs', 'jobs', 'RIGHT', 'LEFT')).toBe('j2');
  });

  test('BLMOVE waits in virtual time: a push wakes the first waiter at that instant; a timeout answers null', async () => {
    const clock = new VirtualClock();
    const { kv } = setup(clock);
    const answers: [string, string | null, number][] = [];
    const wait = (name: string, timeout: number) =>
      kv.blmove('jobs', `taken:${name}`, 'LEFT', 'RIGHT', timeout).then((job) => answers.push([name, job, clock.now()]));
    const first = wait('first', 0);
    const second = wait('second', 2.5);
    const third = wait('third', 1);
    await clock.advance(300);
    expect(await kv.rpush('jobs', 'j1')).toBe(1);
    await clock.advance(5000);
    await Promise.all([first, second, third]);
    expect(answers).toEqual([
      ['first', 'j1', 300],
      ['third', null, 1000],
      ['second', null, 2500],
    ]);
    expect(await kv.llen('jobs')).toBe(0);
    expect(await kv.lrange('taken:first', 0, -1)).toEqual(['j1']);
    expect((await failure(kv.blmove('jobs', 'x', 'LEFT', 'LEFT', -1))).kind).toBe('out-of-range');
    expect((await failure(kv.blmove('jobs', 'x', 'LEFT', 'LEFT', NaN))).kind).toBe('not-a-float');
  });

  test('BLMOVE hands elements out first come, first served, one each', async () => {
    const clock = new VirtualClock();
    const { kv } = setup(clock);
    const a = kv.blmove('q', 'a', 'LEFT', 'RIGHT', 0);
    const b = kv.blmove('q', 'b', 'LEFT', 'RIGHT', 0);
    await clock.advance(10);
    await kv.rpush('q', 'x', 'y', 'z');
    expect([await a, await b]).toEqual(['x', 'y']);
    expect(await kv.lrange('q', 0, -1)).toEqual(['z']);
  });

  test('a blocking BLMOVE needs a store that can set timers', async () => {
    const { store } = setup({ now: () => 0 });
    await expect(store.runBlocking(['BLMOVE', 'q', 'd', 'LEFT', 'LEFT', '1'])).rejects.toThrow(/needs a store built with a Clock/);
  });

  test('an aborted BLMOVE leaves the queue alone', async () => {
    const clock = new VirtualClock();
    const { store, kv } = setup(clock);
    const controller = new AbortController();
    const waiting = store.runBlocking(['BLMOVE', 'q', 'd', 'LEFT', 'LEFT', '0'], controller.signal);
    controller.abort(new Error('caller went away'));
    await expect(waiting).rejects.toThrow('caller went away');
    await kv.rpush('q', 'x');
    expect(await kv.lrange('q', 0, -1)).toEqual(['x']);
  });
});

describe('hashes', () => {
  test('HSET, HGET, HGETALL, HDEL, HINCRBY, HLEN, HEXISTS', async () => {
    const { kv } = timed();
    expect(await kv.hset('user:1', { name: 'Ada', visits: '1' })).toBe(2);
    expect(await kv.hset('user:1', 'name', 'Ada L.')).toBe(0);
    expect(await kv.hget('user:1', 'name')).toBe('Ada L.');
    expect(await kv.hincrby('user:1', 'visits', 2)).toBe(3);
    expect(await kv.hgetall('user:1')).toEqual({ name: 'Ada L.', visits: '3' });
    expect((await failure(kv.hincrby('user:1', 'name', 1))).message).toBe('ERR hash value is not an integer');
    expect((await failure(kv.hset('user:1', {}))).kind).toBe('arity');
    expect(await kv.hlen('user:1')).toBe(2);
    expect(await kv.hexists('user:1', 'visits')).toBe(1);
    expect(await kv.hdel('user:1', 'name', 'visits', 'nope')).toBe(2);
    expect(await kv.exists('user:1')).toBe(0);
    expect(await kv.hgetall('user:1')).toEqual({});
  });
});

describe('sorted sets', () => {
  test('a sliding-window rate limit: ZREMRANGEBYSCORE, ZADD, ZCARD, ZRANGE WITHSCORES', async () => {
    const { kv } = timed();
    const hit = async (at: number) => {
      await kv.zremrangebyscore('hits', '-inf', at - 1000);
      await kv.zadd('hits', at, `req-${at}`);
      return kv.zcard('hits');
    };
    expect([await hit(0), await hit(400), await hit(900), await hit(1000), await hit(1401)]).toEqual([1, 2, 3, 3, 3]);
    expect(await kv.zrangeWithScores('hits', 0, 0)).toEqual([{ member: 'req-900', score: 900 }]);
    expect(await kv.zrange('hits', '(900', '+inf', { by: 'score' })).toEqual(['req-1000', 'req-1401']);
    expect(await kv.zrangebyscore('hits', 0, 2000, { limit: { offset: 1, count: 1 } })).toEqual(['req-1000']);
    expect(await kv.zrange('hits', '+inf', '-inf', { by: 'score', rev: true, limit: { offset: 0, count: 1 } })).toEqual(['req-1401']);
    expect(await kv.zcount('hits', 1000, '+inf')).toBe(2);
  });

  test('ZADD options and scores as Redis reads them', async () => {
    const { kv } = timed();
    expect(await kv.zadd('z', [{ score: 2, member: 'b' }, { score: 1, member: 'a' }, { score: 1, member: 'aa' }])).toBe(3);
    expect(await kv.zrange('z', 0, -1)).toEqual(['a', 'aa', 'b']);
    expect(await kv.zadd('z', 5, 'a', { gt: true, ch: true })).toBe(1);
    expect(await kv.zadd('z', 3, 'a', { gt: true, ch: true })).toBe(0);
    expect(await kv.zadd('z', 9, 'new', { xx: true })).toBe(0);
    expect(await kv.zscore('z', 'a')).toBe(5);
    expect(await kv.zscore('z', 'new')).toBeNull();
    expect(await kv.zadd('z', Infinity, 'top')).toBe(1);
    expect(await kv.zscore('z', 'top')).toBe(Infinity);
    expect((await failure(kv.zadd('z', NaN, 'x'))).kind).toBe('not-a-float');
    expect((await failure(kv.zadd('z', 1, 'x', { nx: true, xx: true }))).message).toBe('ERR XX and NX options at the same time are not compatible');
    expect((await failure(kv.zrangebyscore('z', 'abc', 1))).message).toBe('ERR min or max is not a float');
    expect((await failure(kv.zrange('z', 0, 1, { limit: { offset: 0, count: 1 } }))).kind).toBe('syntax');
    expect(await kv.zrem('z', 'a', 'aa', 'b', 'top')).toBe(4);
    expect(await kv.exists('z')).toBe(0);
  });
});

describe('errors carry a kind', () => {
  test.each([
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'wrong-type'],
    ['ERR syntax error', 'syntax'],
    ["ERR wrong number of arguments for 'rpush' command", 'arity'],
    ['ERR value is not an integer or out of range', 'not-an-integer'],
    ['ERR value is not a valid float', 'not-a-float'],
    ["ERR invalid expire time in 'set' command", 'invalid-expire'],
    ['ERR increment or decrement would overflow', 'overflow'],
    ['ERR timeout is negative', 'out-of-range'],
    ['OOM command not allowed when used memory > maxmemory', 'other'],
  ])('%s', (message, kind) => {
    expect(kvErrorKind(message)).toBe(kind);
    expect(new KvError(message).code).toBe(message.split(' ')[0]);
  });
});

describe('ctx.kv in a cluster', () => {
  test('a sliding-window rate limit on a sorted set, at exact virtual times', async () => {
    let n = 0;
    const limited: NodeFactory = (ctx) => async () => {
      const now = ctx.now();
      await ctx.kv.zremrangebyscore('hits', '-inf', now - 1000);
      if ((await ctx.kv.zcard('hits')) >= 3) return new Response('slow down', { status: 429 });
      await ctx.kv.zadd('hits', now, `req-${++n}`);
      return new Response('ok');
    };
    // Each store command is a 1 ms round trip: app → kv and back.
    const cluster = new Cluster().addNode('app', limited);
    cluster.addStore('kv', { cost: 0 });
    cluster.link('app', 'kv', { latency: 0.5 });
    const statuses: [number, number][] = [];
    for (const at of [0, 100, 200, 300, 1050, 1150, 2500]) {
      await cluster.sleep(at - cluster.clock.now());
      statuses.push([cluster.clock.now(), (await cluster.fetch('http://app/')).status]);
    }
    expect(statuses).toEqual([[0, 200], [100, 200], [200, 200], [300, 429], [1050, 200], [1150, 200], [2500, 200]]);
  });

  test('an error reply crosses the network as a KvError with its kind', async () => {
    const app: NodeFactory = (ctx) => async () => {
      await ctx.kv.rpush('jobs', 'j1');
      try {
        await ctx.kv.incr('jobs');
        return new Response('no error');
      } catch (err) {
        return new Response(err instanceof KvError ? `${err.kind}: ${err.message}` : 'not a KvError');
      }
    };
    const cluster = new Cluster().addNode('app', app);
    cluster.addStore('kv');
    expect(await (await cluster.fetch('http://app/')).text()).toBe('wrong-type: WRONGTYPE Operation against a key holding the wrong kind of value');
  });

  test('BLMOVE through ctx.kv waits in virtual time: a push serves the waiter, a timeout answers null', async () => {
    const answers: string[] = [];
    const worker: NodeFactory = (ctx) => async () => {
      const started = ctx.now();
      const job = await ctx.kv.blmove('jobs', 'working', 'LEFT', 'RIGHT', 2);
      answers.push(`${job} after ${ctx.now() - started} ms`);
      return new Response(job ?? 'none');
    };
    const producer: NodeFactory = (ctx) => async () => new Response(String(await ctx.kv.rpush('jobs', 'j1')));
    const cluster = new Cluster().addNode('worker', worker).addNode('producer', producer);
    cluster.addStore('kv', { cost: 0 });
    const waiting = cluster.fetch('http://worker/');
    await cluster.sleep(500);
    await cluster.fetch('http://producer/');
    expect(await (await waiting).text()).toBe('j1');
    expect(await (await cluster.fetch('http://worker/')).text()).toBe('none');
    expect(answers).toEqual(['j1 after 500 ms', 'null after 2000 ms']);
    expect(await cluster.store('kv').lrange('working', 0, -1)).toEqual(['j1']);
  });
});

describe('a store on another backend (cluster.useStoreBackend)', () => {
  test('every command goes there as Redis words, over the network and counted; compare-and-delete as EVAL; back to memory after', async () => {
    const sent: string[][] = [];
    // A stand-in for a real Redis (the CLI test uses one): answers from its own store, remembering the words.
    const far = directKvClient(new KeyValueStore(new VirtualClock()));
    const send = async (argv: string[]) => {
      sent.push(argv);
      if (argv[0] === 'EVAL') return (await far.delIfEquals(argv[3]!, argv[4]!)) ? 1 : 0;
      if (argv[0] === 'SET') return far.set(argv[1]!, argv[2]!);
      return far.get(argv[1]!);
    };
    const app: NodeFactory = (ctx) => async (req) => {
      const url = new URL(req.url);
      if (url.pathname === '/put') return new Response(String(await ctx.kv.set('lock', 'token-1')));
      if (url.pathname === '/release') return new Response(String(await ctx.kv.delIfEquals('lock', 'token-1')));
      return new Response(String(await ctx.kv.get('lock')));
    };
    const cluster = new Cluster({ latency: 2 }).addNode('app', app);
    cluster.addStore('kv');
    cluster.useStoreBackend('kv', redisTransport(send));
    expect(await (await cluster.fetch('http://app/put')).text()).toBe('OK');
    expect(await (await cluster.fetch('http://app/get')).text()).toBe('token-1');
    expect(cluster.store('kv').execute(['GET', 'lock'])).toBeNull();
    expect(await (await cluster.fetch('http://app/release')).text()).toBe('1');
    expect(sent).toEqual([['SET', 'lock', 'token-1'], ['GET', 'lock'], ['EVAL', DEL_IF_EQUALS_SCRIPT, '1', 'lock', 'token-1']]);
    // The calls still crossed the network and cost the store's CPU: three requests and three commands,
    // 2 ms each way, and 0.5 ms per command.
    expect(cluster.clock.now()).toBe(3 * 4 + 3 * 4 + 3 * 0.5);
    expect(cluster.metrics.of('kv').kvOps).toBe(3);
    cluster.useStoreBackend('kv', undefined);
    expect(await (await cluster.fetch('http://app/get')).text()).toBe('null');
    expect(sent).toHaveLength(3);
    expect(() => cluster.useStoreBackend('nope', undefined)).toThrow('no key-value store named "nope"');
  });
});
