import { describe, expect, test } from 'vitest';
import { Cluster, NetworkError, failureKind, type NodeFactory } from '@scale-lab/kit';

const echo: NodeFactory = (ctx) => async () => new Response(ctx.name);

/** A caller node that fetches `target` with a timeout and answers with what happened and when. */
const caller = (target: string, timeout?: number): NodeFactory => (ctx) => async () => {
  try {
    const res = await ctx.fetch(target, timeout === undefined ? undefined : { signal: ctx.timeout(timeout) });
    return new Response(`${await res.text()} at ${ctx.now()}`);
  } catch (err) {
    return new Response(`${failureKind(err)} at ${ctx.now()}: ${(err as Error).message}`, { status: 504 });
  }
};

describe('slow and hung nodes', () => {
  test('a slow node answers late by its delay; a caller with a shorter timeout gives up on time', async () => {
    const cluster = new Cluster({ latency: 5 }).addNode('app', echo).addNode('lb', caller('http://app/', 100)).addNode('impatient', caller('http://app/', 40));
    cluster.slow('app', 50);
    expect(cluster.stateOf('app')).toBe('slow');
    expect(await (await cluster.fetch('http://lb/')).text()).toBe('app at 65');
    expect(cluster.clock.now()).toBe(70);
    expect(await (await cluster.fetch('http://impatient/')).text()).toBe('timeout at 115: timed out after 40 ms');
    cluster.recover('app');
    expect(await (await cluster.fetch('http://lb/')).text()).toBe('app at 135');
  });

  test('a hung node accepts and never answers: callers wait for their own timeout, or the network timeout', async () => {
    const cluster = new Cluster({ networkTimeout: 5_000 }).addNode('app', echo).addNode('lb', caller('http://app/', 300)).addNode('trusting', caller('http://app/'));
    cluster.hang('app');
    expect(await (await cluster.fetch('http://lb/')).text()).toBe('timeout at 300: timed out after 300 ms');
    expect(await (await cluster.fetch('http://trusting/')).text()).toBe('timeout at 5300: trusting → app: no answer after 5000 ms (app accepted the connection but does not answer)');
    // The hung node took every request: no refusal to tell a balancer it is gone.
    expect(cluster.metrics.node('app').requests).toBe(0);
  });

  test('a hung node that recovers sends the answers it held; one that is killed resets them', async () => {
    const cluster = new Cluster().addNode('app', echo).addNode('lb', caller('http://app/'));
    cluster.hang('app');
    const held = cluster.fetch('http://lb/');
    await cluster.run(async () => {
      await cluster.clock.sleep(1_000);
      cluster.recover('app');
    });
    expect(await (await held).text()).toBe('app at 1000');
    cluster.hang('app');
    const reset = cluster.fetch('http://lb/');
    await cluster.run(async () => {
      await cluster.clock.sleep(200);
      cluster.kill('app');
    });
    expect(await (await reset).text()).toBe('reset at 1200: connection reset: app went down');
  });
});

describe('failures carry a kind', () => {
  test('refused, reset, timeout and unknown-host, each a NetworkError (a TypeError, as fetch rejects with)', async () => {
    const cluster = new Cluster({ networkTimeout: 1_000 })
      .addNode('app', (ctx) => async () => {
        await ctx.sleep(100);
        return new Response('done');
      });
    const kinds: unknown[] = [];
    const attempt = async (url: string) => {
      try {
        await cluster.fetch(url);
        kinds.push('ok');
      } catch (err) {
        expect(err).toBeInstanceOf(NetworkError);
        expect(err).toBeInstanceOf(TypeError);
        kinds.push((err as NetworkError).kind);
      }
    };
    await attempt('http://nowhere/');
    cluster.partition(['app']);
    await attempt('http://app/');
    expect(cluster.clock.now()).toBe(1_000);
    cluster.heal();
    cluster.kill('app');
    await attempt('http://app/');
    cluster.revive('app');
    await cluster.run(async () => {
      const pending = attempt('http://app/');
      await cluster.clock.sleep(50);
      cluster.kill('app');
      await pending;
    });
    expect(kinds).toEqual(['unknown-host', 'timeout', 'refused', 'reset']);
  });

  test('a balancer can retry a refused POST but not a timed-out one', async () => {
    let charged = 0;
    const payments: NodeFactory = () => async () => {
      charged++;
      return new Response('charged');
    };
    const cluster = new Cluster().addNode('pay-1', payments).addNode('pay-2', payments).addNode('lb', (ctx) => async (req) => {
      for (const host of ['pay-1', 'pay-2']) {
        try {
          return await ctx.forward(req, host, { signal: ctx.timeout(200) });
        } catch (err) {
          if (failureKind(err) !== 'refused') return new Response(`gave up: ${failureKind(err)}`, { status: 504 });
        }
      }
      return new Response('no server', { status: 503 });
    });
    cluster.kill('pay-1');
    expect(await (await cluster.fetch('http://lb/', { method: 'POST', body: 'x' })).text()).toBe('charged');
    cluster.revive('pay-1');
    cluster.slow('pay-1', 500);
    expect(await (await cluster.fetch('http://lb/', { method: 'POST', body: 'x' })).text()).toBe('gave up: timeout');
    // The slow server did charge: retrying elsewhere would have charged twice.
    expect(charged).toBe(2);
  });
});

describe('timeouts on ctx.kv and ctx.db calls', () => {
  test('ctx.store(name, { timeout }) fails a call to a hung store on time; the store still ran commands that reached it', async () => {
    const cluster = new Cluster({ latency: 1 });
    cluster.addStore('kv', { cost: 1 });
    cluster.addNode('app', (ctx) => async () => {
      const kv = ctx.store('kv', { timeout: 50 });
      try {
        await kv.set('visits', '1');
        return new Response(`stored at ${ctx.now()}`);
      } catch (err) {
        return new Response(`${failureKind(err)} at ${ctx.now()}`, { status: 503 });
      }
    });
    expect(await (await cluster.fetch('http://app/')).text()).toBe('stored at 4');
    cluster.store().flushAll();
    cluster.slow('kv', 100);
    expect(await (await cluster.fetch('http://app/')).text()).toBe('timeout at 56');
    expect(cluster.store().get('visits')).toBe('1');
    cluster.hang('kv');
    expect(await (await cluster.fetch('http://app/')).text()).toBe('timeout at 108');
  });

  test('ctx.database(name, { signal }) stops waiting when the signal aborts', async () => {
    const cluster = new Cluster();
    await cluster.addDatabase('db', { setup: 'CREATE TABLE t (v INTEGER)', cost: 5 });
    cluster.addNode('app', (ctx) => async () => {
      const deadline = ctx.timeout(20);
      const db = ctx.database('db', { signal: deadline });
      try {
        await db.run('INSERT INTO t VALUES (1)');
        await db.query('SELECT v FROM t');
        return new Response(`both at ${ctx.now()}`);
      } catch (err) {
        return new Response(`${failureKind(err)} at ${ctx.now()}`, { status: 503 });
      }
    });
    expect(await (await cluster.fetch('http://app/')).text()).toBe('both at 10');
    cluster.slow('db', 10);
    expect(await (await cluster.fetch('http://app/')).text()).toBe('timeout at 30');
    // The second insert ran (it reached the database); only its caller stopped waiting.
    expect(cluster.database().query('SELECT count(*) AS n FROM t')).toEqual([{ n: 2 }]);
  });
});
