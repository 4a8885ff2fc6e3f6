/**
 * The kit's key-value store against a real Redis: generated command sequences, valid and invalid,
 * run through the same typed client on both, must get the same replies and errors of the same kind
 * and message, and leave the same keys behind, expiry included.
 *
 * Time is real on both sides (the kit store runs on a RealClock), so expiry is exercised by sleeping.
 * To keep it free of flakes, no command runs within 100 ms of an instant at which its answer flips: a
 * key's deadline, a TTL's rounding boundary, the instant an EXPIRE GT/LT condition changes. The runner
 * waits such instants out, and runs a sequence again when the machine was too slow to keep the margin.
 * Sequences run in batches, each on its own logical database, so their sleeps overlap.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RealClock } from '../../../labs/kit/clock.ts';
import { directKvClient, KeyValueStore, type KvClient } from '../../../labs/kit/kv.ts';
import { redisKvClient } from '../../../labs/kit/kv-redis.ts';
import { MISSING_REDIS, redisServerInstalled, startRedisServer, type RawRedis, type RedisServer } from '../../support/redis-server.ts';

const BATCH = 100;
const BATCHES = Number(process.env.KV_BATCHES ?? 12);
const MARGIN_MS = 100;
/** Runs of a sequence whose timing the machine disturbed, before the test gives up. */
const ATTEMPTS = 5;

type Method = keyof KvClient;
interface Step {
  method: Method | 'sleep';
  args: unknown[];
  /** Drawn with at least one argument Redis refuses. */
  invalid: boolean;
}

// ——— generators ———

interface Drawn<T> {
  v: T;
  bad: boolean;
}
const good = <T>(arb: fc.Arbitrary<T>) => arb.map((v): Drawn<T> => ({ v, bad: false }));
const bad = <T>(arb: fc.Arbitrary<T>) => arb.map((v): Drawn<T> => ({ v, bad: true }));
/** Mostly valid, sometimes invalid. */
const either = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>, badWeight = 1) =>
  fc.oneof({ arbitrary: good(valid), weight: 8 }, { arbitrary: bad(invalid), weight: badWeight });

// Keys that collide often, and some that glob patterns must match literally.
const key = fc.constantFrom('a', 'b', 'c', 'k:1', 'k:2', 'x*', 'h[1]', 'q?', 'é', 'a\\b');
const value = fc.oneof(
  fc.constantFrom('', '0', '1', '-1', '007', '42', ' 7', '+3', '9223372036854775807', '-9223372036854775808', '1.5', 'tok', 'é'),
  fc.string({ maxLength: 4 }),
);
const field = fc.constantFrom('f', 'g', 'n', '');
const member = fc.constantFrom('m', 'n', 'o', 'p', '', 'é');
const pattern = fc.oneof(
  fc.constantFrom('*', 'k:*', '?', '[ab]', '[^a]*', '[a-c]', '[c-a]', 'x\\*', 'h\\[1]', 'h[[]1]', 'q\\?', '*\\\\*', '[', 'k:[12', '[]', '**', 'é', '?'),
  fc.string({ unit: fc.constantFrom('*', '?', '[', ']', '^', '-', '\\', 'a', 'b', 'k', ':', '1', 'x', 'é'), maxLength: 6 }),
);
const int = fc.oneof(fc.integer({ min: -4, max: 6 }), fc.constantFrom(-1000, 1_000_000, 2 ** 53 - 1));
const notInt = fc.constantFrom(1.5, -0.5, NaN, Infinity, -Infinity, 1e21, 9.3e18, -9.3e18);
const seconds = fc.constantFrom(1, 2, 10, 100, 3600, 1e9, 0, -1);
// Short lives expire within a sequence (its sleeps add up to 1.2 s at most); long ones outlive it.
const shortLife = fc.integer({ min: 120, max: 700 });
const millis = fc.oneof(shortLife, fc.constantFrom(1000, 1500, 60_000, 1e12, 0, -5));
const badSeconds = fc.constantFrom(1.5, NaN, Infinity, 1e16, -1e16, 1e21);
const badMillis = fc.constantFrom(0.5, NaN, -Infinity, 1e21, 9.3e18);
const condition = fc.option(either(fc.constantFrom('NX', 'XX', 'GT', 'LT', 'gt'), fc.constantFrom('YY', '')), { freq: 2 });
const listSide = either(fc.constantFrom('LEFT', 'RIGHT', 'left'), fc.constantFrom('UP', ''));
const score = either(
  fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0.1, Infinity, -Infinity, 1e300, 5e-324)),
  fc.constant(NaN),
);
const bound = either(
  fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('(1', '(0', '-inf', '+inf', '(-inf', ' 2', '', '(', '1e400', 'inf')),
  fc.constantFrom('abc', NaN, '((1', '1e'),
);
const timeout = either(fc.constantFrom(0.15, 0.3), fc.constantFrom(-1, NaN, Infinity, 'soon'));

/** A step from drawn arguments: invalid when any of them was drawn invalid. */
function step(method: Method, ...drawn: (Drawn<unknown> | { plain: unknown })[]): Step {
  return {
    method,
    args: drawn.map((d) => ('plain' in d ? d.plain : d.v)),
    invalid: drawn.some((d) => !('plain' in d) && d.bad),
  };
}
const p = <T>(arb: fc.Arbitrary<T>) => arb.map((plain) => ({ plain }));

const setOptions = fc.tuple(
  fc.record(
    {
      ex: either(seconds.filter((s) => s > 0), fc.oneof(badSeconds, fc.constantFrom(0, -1))),
      px: either(fc.oneof({ weight: 3, arbitrary: shortLife }, { weight: 1, arbitrary: millis.filter((m) => m > 0) }), fc.oneof(badMillis, fc.constantFrom(0))),
      nx: fc.boolean(),
      xx: fc.boolean(),
      keepTtl: fc.boolean(),
      get: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
  fc.boolean(),
).map(([o, mayConflict]) => {
  // Conflicting options are invalid arguments too; keep them to about one SET in four.
  const options: Record<string, unknown> = {};
  let invalid = false;
  for (const [name, drawn] of Object.entries(o)) {
    if (drawn === undefined) continue;
    if (typeof drawn === 'object') {
      options[name] = drawn.v;
      invalid ||= drawn.bad;
    } else options[name] = drawn;
  }
  if (!mayConflict) {
    if (options.ex !== undefined) delete options.px;
    if (options.ex !== undefined || options.px !== undefined) delete options.keepTtl;
    if (options.nx) delete options.xx;
  }
  const conflict = (options.ex !== undefined && options.px !== undefined) || (options.nx && options.xx) ||
    (options.keepTtl && (options.ex !== undefined || options.px !== undefined));
  return { v: options, bad: invalid || Boolean(conflict) };
});

const zaddOptions = fc.record({ nx: fc.boolean(), xx: fc.boolean(), gt: fc.boolean(), lt: fc.boolean(), ch: fc.boolean() }, { requiredKeys: [] })
  .map((o) => ({ v: o, bad: Boolean((o.nx && o.xx) || (o.nx && (o.gt || o.lt)) || (o.gt && o.lt)) }));
const zrangeOptions = fc.record(
  { by: fc.constant('score' as const), rev: fc.boolean(), limit: fc.record({ offset: fc.integer({ min: -1, max: 3 }), count: fc.integer({ min: -1, max: 3 }) }) },
  { requiredKeys: [] },
).map((o) => ({ v: o, bad: o.limit !== undefined && o.by === undefined }));
const entries = <T>(arb: fc.Arbitrary<T>, max: number) => fc.array(arb, { minLength: 0, maxLength: max });
const some = <T>(arb: fc.Arbitrary<T>, max: number) =>
  entries(arb, max).map((xs) => ({ v: xs, bad: xs.length === 0 }));

const command: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: p(key).map((k) => step('get', k)) },
  { weight: 8, arbitrary: fc.tuple(p(key), p(value), setOptions).map(([k, v, o]) => step('set', k, v, o)) },
  // Keys that die within the sequence, so that expiry is put to the test.
  { weight: 7, arbitrary: fc.tuple(p(key), p(value), shortLife).map(([k, v, ms]) => step('set', k, v, { plain: { px: ms } })) },
  { weight: 2, arbitrary: some(key, 3).map((ks) => ({ method: 'mget' as const, args: ks.v, invalid: ks.bad })) },
  { weight: 2, arbitrary: some(key, 3).map((ks) => ({ method: 'del' as const, args: ks.v, invalid: ks.bad })) },
  { weight: 2, arbitrary: some(key, 3).map((ks) => ({ method: 'exists' as const, args: ks.v, invalid: ks.bad })) },
  { weight: 2, arbitrary: p(key).map((k) => step('type', k)) },
  { weight: 3, arbitrary: p(pattern).map((pt) => step('keys', pt)) },
  { weight: 3, arbitrary: p(key).map((k) => step('incr', k)) },
  { weight: 1, arbitrary: p(key).map((k) => step('decr', k)) },
  { weight: 2, arbitrary: fc.tuple(p(key), either(int, notInt)).map(([k, n]) => step('incrby', k, n)) },
  { weight: 1, arbitrary: fc.tuple(p(key), either(int, notInt)).map(([k, n]) => step('decrby', k, n)) },
  { weight: 2, arbitrary: fc.tuple(p(key), p(value)).map(([k, v]) => step('delIfEquals', k, v)) },
  {
    weight: 3,
    arbitrary: fc.tuple(p(key), either(seconds, badSeconds), condition)
      .map(([k, s, c]) => (c === null ? step('expire', k, s) : step('expire', k, s, c))),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(p(key), either(millis, badMillis), condition)
      .map(([k, s, c]) => (c === null ? step('pexpire', k, s) : step('pexpire', k, s, c))),
  },
  { weight: 3, arbitrary: p(key).map((k) => step('ttl', k)) },
  { weight: 3, arbitrary: p(key).map((k) => step('pttl', k)) },
  { weight: 1, arbitrary: p(key).map((k) => step('persist', k)) },
  { weight: 3, arbitrary: fc.tuple(p(key), some(value, 3)).map(([k, vs]) => ({ method: 'lpush' as const, args: [k.plain, ...vs.v], invalid: vs.bad })) },
  { weight: 3, arbitrary: fc.tuple(p(key), some(value, 3)).map(([k, vs]) => ({ method: 'rpush' as const, args: [k.plain, ...vs.v], invalid: vs.bad })) },
  { weight: 2, arbitrary: p(key).map((k) => step('lpop', k)) },
  { weight: 2, arbitrary: p(key).map((k) => step('rpop', k)) },
  { weight: 2, arbitrary: fc.tuple(p(key), either(int, notInt), either(int, notInt)).map(([k, a, b]) => step('lrange', k, a, b)) },
  { weight: 1, arbitrary: p(key).map((k) => step('llen', k)) },
  { weight: 1, arbitrary: fc.tuple(p(key), either(int, notInt), p(value)).map(([k, n, v]) => step('lrem', k, n, v)) },
  { weight: 1, arbitrary: fc.tuple(p(key), either(int, notInt), either(int, notInt)).map(([k, a, b]) => step('ltrim', k, a, b)) },
  { weight: 2, arbitrary: fc.tuple(p(key), p(key), listSide, listSide).map(([s, d, f, t]) => step('lmove', s, d, f, t)) },
  { weight: 1, arbitrary: fc.tuple(p(key), p(key), listSide, listSide, timeout).map(([s, d, f, t, w]) => step('blmove', s, d, f, t, w)) },
  { weight: 2, arbitrary: fc.tuple(p(key), p(field), p(value)).map(([k, f, v]) => step('hset', k, f, v)) },
  {
    weight: 1,
    arbitrary: fc.tuple(p(key), entries(fc.tuple(field, value), 3))
      .map(([k, kv]) => ({ method: 'hset' as const, args: [k.plain, Object.fromEntries(kv)], invalid: kv.length === 0 })),
  },
  { weight: 2, arbitrary: fc.tuple(p(key), p(field)).map(([k, f]) => step('hget', k, f)) },
  { weight: 1, arbitrary: p(key).map((k) => step('hgetall', k)) },
  { weight: 1, arbitrary: fc.tuple(p(key), some(field, 2)).map(([k, fs]) => ({ method: 'hdel' as const, args: [k.plain, ...fs.v], invalid: fs.bad })) },
  { weight: 2, arbitrary: fc.tuple(p(key), p(field), either(int, notInt)).map(([k, f, n]) => step('hincrby', k, f, n)) },
  { weight: 1, arbitrary: p(key).map((k) => step('hlen', k)) },
  { weight: 1, arbitrary: fc.tuple(p(key), p(field)).map(([k, f]) => step('hexists', k, f)) },
  {
    weight: 3,
    arbitrary: fc.tuple(p(key), score, p(member), fc.option(zaddOptions, { freq: 3 }))
      .map(([k, s, m, o]) => (o === null ? step('zadd', k, s, m) : step('zadd', k, s, m, o))),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(p(key), entries(fc.tuple(score, member), 3), zaddOptions).map(([k, ms, o]) => ({
      method: 'zadd' as const,
      args: [k.plain, ms.map(([s, m]) => ({ score: s.v, member: m })), o.v],
      invalid: ms.length === 0 || ms.some(([s]) => s.bad) || o.bad,
    })),
  },
  { weight: 1, arbitrary: fc.tuple(p(key), some(member, 2)).map(([k, ms]) => ({ method: 'zrem' as const, args: [k.plain, ...ms.v], invalid: ms.bad })) },
  { weight: 1, arbitrary: p(key).map((k) => step('zcard', k)) },
  { weight: 1, arbitrary: fc.tuple(p(key), p(member)).map(([k, m]) => step('zscore', k, m)) },
  { weight: 1, arbitrary: fc.tuple(p(key), bound, bound).map(([k, a, b]) => step('zcount', k, a, b)) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('zrange' as const, 'zrangeWithScores' as const), p(key), zrangeOptions, fc.tuple(either(int, notInt), either(int, notInt)), fc.tuple(bound, bound))
      .map(([m, k, o, ranks, scores]) => (o.v.by === 'score' ? step(m, k, scores[0], scores[1], o) : step(m, k, ranks[0], ranks[1], o))),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(p(key), bound, bound, fc.option(fc.record({ offset: fc.integer({ min: -1, max: 3 }), count: fc.integer({ min: -1, max: 3 }) }), { freq: 2 }))
      .map(([k, a, b, limit]) => (limit === null ? step('zrangebyscore', k, a, b) : step('zrangebyscore', k, a, b, { plain: { limit } }))),
  },
  { weight: 2, arbitrary: fc.tuple(p(key), bound, bound).map(([k, a, b]) => step('zremrangebyscore', k, a, b)) },
  { weight: 8, arbitrary: fc.integer({ min: 100, max: 600 }).map((ms) => ({ method: 'sleep' as const, args: [ms], invalid: false })) },
);

const MAX_SLEEP_MS = 1200;
/** A sequence, its sleeps capped so that a batch ends in about a second and a half. */
const sequence = fc.array(command, { minLength: 1, maxLength: 14 }).map((steps) => {
  let slept = 0;
  return steps.filter((s) => s.method !== 'sleep' || (slept += s.args[0] as number) <= MAX_SLEEP_MS);
});

// ——— running ———

type Outcome = { ok: unknown } | { error: string; kind: string };

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await run() };
  } catch (err) {
    const e = err as { message?: string; kind?: string };
    return { error: String(e.message), kind: String(e.kind) };
  }
}

const call = (client: KvClient, s: Step) => (client[s.method as Method] as (...args: unknown[]) => Promise<unknown>)(...s.args);

function show(s: Step): string {
  return `${s.method}(${s.args.map((a) => (typeof a === 'number' && !Number.isFinite(a) ? String(a) : JSON.stringify(a))).join(', ')})`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The instants, in the kit store's clock, at which `s`'s answer would flip, besides every key's deadline. */
function flipInstants(s: Step, store: KeyValueStore, now: number): number[] {
  const [k] = s.args;
  const left = typeof k === 'string' ? store.pttl(k) : -1;
  if (left < 0) return [];
  const deadline = now + left;
  if (s.method === 'ttl') {
    // TTL answers round((deadline - now) / 1000): it flips whenever half a second is left over.
    const n = Math.round((deadline - 500 - now) / 1000);
    return [deadline - 500 - 1000 * n];
  }
  if ((s.method === 'expire' || s.method === 'pexpire') && s.args.length === 3 && /^(gt|lt)$/i.test(String(s.args[2]))) {
    const amount = Number(s.args[1]);
    if (!Number.isInteger(amount)) return [];
    // GT/LT compare now + amount with the current deadline.
    return [deadline - amount * (s.method === 'expire' ? 1000 : 1)];
  }
  return [];
}

interface Run {
  status: 'same' | 'different' | 'disturbed';
  detail?: string;
  /** Milliseconds spent keeping clear of deadlines. */
  waited?: number;
  /** Some key's deadline passed while the sequence ran, so expiry was put to the test. */
  sawExpiry?: boolean;
}

/** Runs one sequence on a fresh kit store and an emptied Redis database, step by step. */
async function runSequence(steps: Step[], redis: RawRedis): Promise<Run> {
  await redis.send(['FLUSHDB']);
  const clock = new RealClock();
  const store = new KeyValueStore(clock);
  const kit = directKvClient(store);
  const real = redisKvClient(redis.send);
  const deadlines = new Set<number>();
  const noteDeadlines = () => {
    for (const k of store.keys('*')) {
      const left = store.pttl(k);
      if (left >= 0) deadlines.add(clock.now() + left);
    }
  };
  /** Waits until no instant at which `s`'s answer flips is within the margin; returns those instants. */
  const keepClear = async (s: Step) => {
    for (;;) {
      const now = clock.now();
      const flips = [...deadlines, ...flipInstants(s, store, now)];
      // On a busy machine commands take longer: keep a margin wider than the slowest so far.
      const margin = Math.max(MARGIN_MS, 2 * slowest + 10);
      const near = flips.filter((t) => Math.abs(t - now) < margin);
      if (near.length === 0) return flips;
      waited += Math.max(...near) + margin + 1 - now;
      await sleep(Math.max(...near) + margin + 1 - now);
    }
  };
  const log: string[] = [];
  let slowest = 0;
  let waited = 0;
  for (const s of steps) {
    if (s.method === 'sleep') {
      await sleep(s.args[0] as number);
      log.push(show(s));
      continue;
    }
    const flips = await keepClear(s);
    const started = clock.now();
    // A blocking command waits on both sides at once; any other runs on the kit, then on Redis.
    let mine: Outcome, theirs: Outcome;
    if (s.method === 'blmove') [mine, theirs] = await Promise.all([outcome(() => call(kit, s)), outcome(() => call(real, s))]);
    else {
      mine = await outcome(() => call(kit, s));
      // Note a new deadline before Redis is asked: on a busy machine its answer may come after it.
      noteDeadlines();
      theirs = await outcome(() => call(real, s));
    }
    const ended = clock.now();
    const took = ended - started;
    if (s.method !== 'blmove') {
      // The kit's deadlines and Redis's differ by at most the slowest command's time; a flip inside
      // the command's time, widened by that, could have gone either way.
      slowest = Math.max(slowest, took);
      if (flips.some((t) => t > started - slowest - 2 && t < ended + slowest + 2)) return { status: 'disturbed' };
    }
    log.push(`${show(s)} → ${JSON.stringify(mine)}`);
    noteDeadlines();
    const same = s.method === 'pttl' && 'ok' in mine && 'ok' in theirs && typeof mine.ok === 'number' && typeof theirs.ok === 'number' && mine.ok >= 0
      ? Math.abs(mine.ok - theirs.ok) <= slowest + 2
      : canonical(mine) === canonical(theirs);
    if (!same) {
      return { status: 'different', detail: `${log.join('\n')}\n  Redis answered ${JSON.stringify(theirs)}` };
    }
  }
  // The keys left behind, with what they hold and whether they expire.
  await keepClear({ method: 'keys', args: ['*'], invalid: false });
  const dumpStarted = clock.now();
  const dump = async (c: KvClient) => {
    const keys = await c.keys('*');
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const type = await c.type(k);
      const content = type === 'string' ? await c.get(k) : type === 'list' ? await c.lrange(k, 0, -1) : type === 'hash' ? await c.hgetall(k) : await c.zrangeWithScores(k, 0, -1);
      out[k] = { type, content, expires: (await c.ttl(k)) >= 0 };
    }
    return out;
  };
  const [mine, theirs] = [await dump(kit), await dump(real)];
  const dumpEnded = clock.now();
  if ([...deadlines].some((t) => t > dumpStarted - slowest - 2 && t < dumpEnded + slowest + 2)) return { status: 'disturbed' };
  if (canonical(mine) !== canonical(theirs)) {
    return { status: 'different', detail: `${log.join('\n')}\n  left behind: kit ${canonical(mine)}\n  Redis ${canonical(theirs)}` };
  }
  return { status: 'same', waited, sawExpiry: [...deadlines].some((t) => t < dumpStarted) };
}

/** A reply as text to compare: object fields in order (HGETALL's order is Redis's business), Infinity and -0 kept apart. */
function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : v) : `${v}`;
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return v;
  });
}

let reruns = 0;

async function runUntilSteady(steps: Step[], redis: RawRedis): Promise<Run> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const run = await runSequence(steps, redis);
    if (run.status !== 'disturbed') return run;
    reruns++;
  }
  return { status: 'different', detail: `the machine was too slow to keep ${MARGIN_MS} ms between commands and deadlines, ${ATTEMPTS} times:\n${steps.map(show).join('\n')}` };
}

const installed = redisServerInstalled();
const underCi = Boolean(process.env.CI);

if (!installed && !underCi) {
  console.warn(`\n⚠⚠⚠ SKIPPED: the Redis differential test. ${MISSING_REDIS}\n`);
}

describe.skipIf(!installed && !underCi)('the key-value store answers as Redis 7 does', () => {
  let server: RedisServer | undefined;
  const connections: RawRedis[] = [];

  beforeAll(async () => {
    if (!installed) throw new Error(MISSING_REDIS);
    server = await startRedisServer({ databases: BATCH });
    connections.push(...(await Promise.all(Array.from({ length: BATCH }, (_, db) => server!.connect(db)))));
  }, 30_000);

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
    await server?.stop();
  });

  test(`${BATCH * BATCHES} generated command sequences get the same replies and leave the same keys`, async () => {
    let sequences = 0;
    let withInvalid = 0;
    let withExpiry = 0;
    const started = performance.now();
    const result = await fc.check(
      fc.asyncProperty(fc.array(sequence, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const runs = await Promise.all(batch.map((steps, i) => runUntilSteady(steps, connections[i]!)));
        sequences += batch.length;
        withInvalid += batch.filter((steps) => steps.some((s) => s.invalid)).length;
        withExpiry += runs.filter((r) => r.sawExpiry).length;
        const failed = runs.find((r) => r.status !== 'same');
        if (failed) throw new Error(failed.detail);
      }),
      // Each run is a batch of sequences; the failing sequence is in the message, so no shrinking.
      { numRuns: BATCHES, endOnFailure: true, seed: process.env.KV_SEED ? Number(process.env.KV_SEED) : undefined },
    );
    console.log(`kv differential: ${sequences} sequences (${withInvalid} with an invalid argument, ${withExpiry} in which a key expired) in ${Math.round(performance.now() - started)} ms, ${reruns} run again for timing; seed ${result.seed}`);
    if (result.failed) {
      const message = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
      throw new Error(`the kit and Redis part ways (seed ${result.seed}; KV_SEED=${result.seed} repeats it):\n${message}`);
    }
    expect(sequences).toBeGreaterThanOrEqual(1000);
    expect(withInvalid / sequences, 'at least a fifth of the sequences have an invalid argument').toBeGreaterThanOrEqual(0.2);
    expect(withExpiry / sequences, 'keys expire in a good share of the sequences').toBeGreaterThanOrEqual(0.04);
  }, 300_000);

  test('clients blocked in BLMOVE are served first come, first served, and one whose destination is not a list gets WRONGTYPE', async () => {
    // Four clients of one database on each side: three block, the fourth pushes.
    const redis = await Promise.all([0, 1, 2, 3].map(() => server!.connect(BATCH - 1)));
    try {
      await redis[0]!.send(['FLUSHDB']);
      const store = new KeyValueStore(new RealClock());
      const scenario = async ([a, b, c, pusher]: KvClient[]) => {
        await pusher!.set('str', 'x');
        const waits = [
          outcome(() => a!.blmove('q', 'done', 'LEFT', 'RIGHT', 2)),
          outcome(() => b!.blmove('q', 'str', 'LEFT', 'RIGHT', 2)),
          outcome(() => c!.blmove('q', 'done', 'RIGHT', 'LEFT', 2)),
        ];
        await sleep(100);
        const pushed = await pusher!.rpush('q', 'j1', 'j2', 'j3');
        return { answers: await Promise.all(waits), pushed, q: await pusher!.lrange('q', 0, -1), done: await pusher!.lrange('done', 0, -1) };
      };
      const onRedis = await scenario(redis.map((c) => redisKvClient(c.send)));
      const onKit = await scenario([0, 1, 2, 3].map(() => directKvClient(store)));
      expect(onRedis.answers[0]).toEqual({ ok: 'j1' });
      expect(canonical(onKit)).toBe(canonical(onRedis));
    } finally {
      await Promise.all(redis.map((c) => c.close()));
    }
  }, 30_000);
});
