import { describe, expect, test } from 'vitest';
import { Cluster, type NodeFactory } from '@scale-lab/kit';

const echo: NodeFactory = (ctx) => async (req) => new Response(`${ctx.name} ${new URL(req.url).pathname}`);

describe('Cluster network', () => {
  test('routes by host name and counts requests per node', async () => {
    const cluster = new Cluster().addNode('app-1', echo).addNode('app-2', echo);
    expect(await (await cluster.fetch('http://app-2/hello')).text()).toBe('app-2 /hello');
    expect(cluster.metrics.node('app-2').requests).toBe(1);
    expect(cluster.metrics.node('app-1').requests).toBe(0);
  });

  test('latency is paid both ways on the virtual clock', async () => {
    const cluster = new Cluster({ latency: 10 }).addNode('app-1', echo);
    await cluster.fetch('http://app-1/');
    expect(cluster.clock.now()).toBe(20);
    cluster.link('client', 'app-1', { latency: 50 });
    await cluster.fetch('http://app-1/');
    expect(cluster.clock.now()).toBe(120);
  });

  test('unknown hosts and killed nodes fail like a real network, with a readable reason', async () => {
    const cluster = new Cluster().addNode('app-1', echo);
    await expect(cluster.fetch('http://nope/')).rejects.toThrow('client → nope: no node named "nope" in this cluster (nodes: app-1)');
    cluster.kill('app-1');
    await expect(cluster.fetch('http://app-1/')).rejects.toThrow('client → app-1: connection refused (app-1 is down)');
    cluster.revive('app-1');
    expect((await cluster.fetch('http://app-1/')).status).toBe(200);
  });

  test('a restart runs the factory again, wiping memory; fail() answers 5xx without the code', async () => {
    const counter: NodeFactory = () => {
      let n = 0;
      return () => new Response(String(++n));
    };
    const cluster = new Cluster().addNode('app-1', counter);
    await cluster.fetch('http://app-1/');
    expect(await (await cluster.fetch('http://app-1/')).text()).toBe('2');
    cluster.fail('app-1', 503);
    expect((await cluster.fetch('http://app-1/')).status).toBe(503);
    cluster.recover('app-1');
    expect(await (await cluster.fetch('http://app-1/')).text()).toBe('3');
    cluster.restart('app-1');
    expect(await (await cluster.fetch('http://app-1/')).text()).toBe('1');
    expect(cluster.metrics.node('app-1').errors).toBe(1);
  });

  test('a request lost in a partition hangs until the caller times out', async () => {
    const cluster = new Cluster()
      .addNode('app-1', echo)
      .addNode('lb', (ctx) => async () => {
        try {
          return await ctx.fetch('http://app-1/', { signal: ctx.timeout(250) });
        } catch (err) {
          return new Response(`gave up at ${ctx.now()}: ${(err as Error).message}`, { status: 504 });
        }
      });
    cluster.partition(['client', 'lb'], ['app-1']);
    const res = await cluster.fetch('http://lb/');
    expect(res.status).toBe(504);
    expect(await res.text()).toBe('gave up at 250: timed out after 250 ms');
    cluster.heal();
    expect((await cluster.fetch('http://lb/')).status).toBe(200);
  });

  test('killing a node resets requests it was handling and stops its timers', async () => {
    let ticks = 0;
    const cluster = new Cluster().addNode('slow', (ctx) => {
      ctx.setInterval(() => ticks++, 100);
      return async () => {
        await ctx.sleep(1000);
        return new Response('late');
      };
    });
    const pending = cluster.fetch('http://slow/');
    const killer = cluster.run(async () => {
      await cluster.clock.sleep(350);
      cluster.kill('slow');
    });
    await expect(pending).rejects.toThrow('connection reset: slow went down');
    await killer;
    await cluster.sleep(1000);
    expect(ticks).toBe(3);
  });

  test('a handler that throws becomes a 500 and counts as an error', async () => {
    const cluster = new Cluster().addNode('app-1', () => () => {
      throw new Error('boom');
    });
    const res = await cluster.fetch('http://app-1/');
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('app-1: boom');
    expect(cluster.metrics.node('app-1').errors).toBe(1);
  });

  test('a request that can never finish is reported, not hung', async () => {
    const cluster = new Cluster().addNode('stuck', () => () => new Promise<Response>(() => {}));
    await expect(cluster.fetch('http://stuck/')).rejects.toThrow(/never settle/);
  });
});

describe('Components and load', () => {
  test('the store and database cost time and are counted for both sides', async () => {
    const cluster = new Cluster();
    cluster.addStore('kv', { cost: 1, cache: true });
    await cluster.addDatabase('db', { setup: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one');", cost: 4 });
    cluster.addNode('app', (ctx) => async () => {
      const cached = await ctx.kv.get('t:1');
      if (cached) return new Response(cached);
      const [row] = await ctx.db.query<{ v: string }>('SELECT v FROM t WHERE id = ?', [1]);
      await ctx.kv.set('t:1', row!.v, { ex: 60 });
      return new Response(row!.v);
    });
    expect(await (await cluster.fetch('http://app/')).text()).toBe('one');
    expect(cluster.clock.now()).toBe(6);
    expect(await (await cluster.fetch('http://app/')).text()).toBe('one');
    const app = cluster.metrics.node('app');
    expect([app.queries, app.kvReads, app.cacheHits, app.cacheMisses]).toEqual([1, 2, 1, 1]);
    expect(cluster.metrics.node('db').queries).toBe(1);
    expect(cluster.metrics.node('kv').kvOps).toBe(3);
    expect(cluster.database().run('UPDATE t SET v = ? WHERE id = 1', ['uno']).changes).toBe(1);
  });

  test('an MGET is one key-value read, and in a cache each of its keys is a hit or a miss', async () => {
    const cluster = new Cluster();
    cluster.addStore('kv', { cache: true });
    cluster.addNode('app', (ctx) => async () => Response.json(await ctx.kv.mget('a', 'b', 'c')));
    cluster.store('kv').set('a', '1');
    cluster.store('kv').set('c', '3');
    expect(await (await cluster.fetch('http://app/')).json()).toEqual(['1', null, '3']);
    const app = cluster.metrics.node('app');
    expect([app.kvOps, app.kvReads, app.cacheHits, app.cacheMisses]).toEqual([1, 1, 2, 1]);
    expect(cluster.metrics.node('kv').kvReads).toBe(1);
  });

  test('the load generator reports throughput and percentiles', async () => {
    const cluster = new Cluster().addNode('app', (ctx) => async () => {
      await ctx.sleep(ctx.random() < 0.1 ? 100 : 10);
      return new Response('ok');
    });
    const report = await cluster.load({ target: 'http://app/', requests: 200, concurrency: 10 });
    expect(report.ok).toBe(200);
    expect(report.latency.p50).toBe(10);
    expect(report.latency.p99).toBe(100);
    expect(report.throughput).toBeGreaterThan(100);
    const open = await cluster.load({ target: 'http://app/', requests: 50, rate: 100 });
    expect(open.duration).toBeGreaterThanOrEqual(490);
  });

  test('the same seed gives identical metrics in two runs', async () => {
    async function once(seed: number) {
      const cluster = new Cluster({ seed });
      for (const name of ['app-1', 'app-2']) {
        cluster.addNode(name, (ctx) => async () => {
          await ctx.sleep(Math.floor(ctx.random() * 50));
          return new Response('ok');
        });
      }
      cluster.link('client', 'app-2', { drop: 0.2 });
      cluster.addNode('lb', (ctx) => async (req) => ctx.forward(req, ctx.random() < 0.5 ? 'app-1' : 'app-2', { signal: ctx.timeout(200) }));
      const report = await cluster.load({ target: (i) => `http://${i % 3 === 0 ? 'app-2' : 'lb'}/`, requests: 300, concurrency: 7 });
      return { report, metrics: cluster.metrics.all(), now: cluster.clock.now() };
    }
    const a = await once(7);
    const b = await once(7);
    expect(a).toEqual(b);
    expect(a.report.failed).toBeGreaterThan(0);
    const c = await once(8);
    expect(c.metrics).not.toEqual(a.metrics);
  });
});

test('requests started inside run() join its drive of the clock', async () => {
  const cluster = new Cluster().addNode('app', (ctx) => async () => {
    await ctx.sleep(10);
    return new Response('ok');
  });
  const all = await cluster.run(() => Promise.all([1, 2, 3].map(() => cluster.fetch('http://app/'))));
  expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
  expect(cluster.clock.now()).toBe(10);
});
