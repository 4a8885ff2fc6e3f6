import { describe, expect, test } from 'vitest';
import { Cluster, NetworkError, failureKind, type NodeFactory } from '@scale-lab/kit';

/** A node whose every request spends `ms` of CPU. */
const busy = (ms: number): NodeFactory => (ctx) => async () => {
  await ctx.work(ms);
  return new Response(`done at ${ctx.now()}`);
};

/** Sends one GET per entry of `at` (ms from now), all in one drive; returns each answer's text or failure kind. */
async function burst(cluster: Cluster, url: string, at: number[]): Promise<string[]> {
  return cluster.run(() => Promise.all(at.map(async (delay) => {
    await cluster.clock.sleep(delay);
    try {
      return await (await cluster.fetch(url)).text();
    } catch (err) {
      return `${failureKind(err)}`;
    }
  })));
}

describe('cores', () => {
  test('work waits for a free core: six requests of 10 ms on two cores end at 10, 10, 20, 20, 30, 30', async () => {
    const cluster = new Cluster().addNode('app', busy(10), { cores: 2 });
    expect(await burst(cluster, 'http://app/', [0, 0, 0, 0, 0, 0])).toEqual(['done at 10', 'done at 10', 'done at 20', 'done at 20', 'done at 30', 'done at 30']);
    const m = cluster.metrics.node('app');
    expect([m.cores, m.busyTime, m.utilisation, m.maxQueued, m.queued]).toEqual([2, 60, 1, 4, 0]);
    await cluster.sleep(30);
    expect(cluster.metrics.node('app').utilisation).toBe(0.5);
    cluster.metrics.reset();
    expect([cluster.metrics.node('app').busyTime, cluster.metrics.node('app').maxQueued]).toEqual([0, 0]);
  });

  test('without cores, work runs in parallel without bound (the kit before capacity)', async () => {
    const cluster = new Cluster().addNode('app', busy(10));
    expect(await burst(cluster, 'http://app/', [0, 0, 0])).toEqual(['done at 10', 'done at 10', 'done at 10']);
    const m = cluster.metrics.node('app');
    expect([m.cores, m.utilisation, m.busyTime]).toEqual([null, null, 30]);
  });

  test('throughput levels off at cores / work, and latency climbs with the queue', async () => {
    const cluster = new Cluster().addNode('app', busy(10), { cores: 2 });
    const light = await cluster.load({ target: 'http://app/', requests: 100, concurrency: 2 });
    expect([light.throughput, light.latency.p50]).toEqual([200, 10]);
    const heavy = await cluster.load({ target: 'http://app/', requests: 200, concurrency: 20 });
    expect(heavy.throughput).toBe(200);
    expect(heavy.latency.p50).toBe(100);
  });

  test('work drawn from a seeded distribution replays with the seed', async () => {
    async function total(seed: number) {
      const cluster = new Cluster({ seed }).addNode('app', (ctx) => async () => {
        const t0 = ctx.now();
        for (let i = 0; i < 200; i++) await ctx.work({ distribution: 'exponential', mean: 10 });
        await ctx.work({ distribution: 'lognormal', median: 20, p99: 200 });
        await ctx.work({ distribution: 'uniform', min: 1, max: 3 });
        return new Response(String(ctx.now() - t0));
      });
      return Number(await (await cluster.fetch('http://app/')).text());
    }
    const a = await total(3);
    expect(await total(3)).toBe(a);
    expect(await total(4)).not.toBe(a);
    // 200 draws of mean 10, one lognormal around 20, one in [1, 3].
    expect(a).toBeGreaterThan(1_600);
    expect(a).toBeLessThan(2_600);
  });

  test('a node killed mid-work frees its cores and drops its queue', async () => {
    const cluster = new Cluster().addNode('app', busy(10), { cores: 1 });
    const answers = cluster.run(() => burst(cluster, 'http://app/', [0, 0, 0]));
    await cluster.run(async () => {
      await cluster.clock.sleep(5);
      cluster.kill('app');
      cluster.revive('app');
    });
    expect(await answers).toEqual(['reset', 'reset', 'reset']);
    expect(await burst(cluster, 'http://app/', [0])).toEqual(['done at 15']);
  });
});

describe('accept backlog', () => {
  test('with one core and a backlog of 2, requests arriving while two wait are refused at once', async () => {
    const cluster = new Cluster().addNode('app', busy(10), { cores: 1, backlog: 2 });
    expect(await burst(cluster, 'http://app/', [0, 1, 2, 3, 4, 25])).toEqual(['done at 10', 'done at 20', 'done at 30', 'refused', 'refused', 'done at 40']);
    expect(cluster.metrics.node('app').refused).toBe(2);
    const refusal = await cluster.run(async () => {
      const first = cluster.fetch('http://app/');
      await cluster.clock.sleep(1);
      const [second, third] = [cluster.fetch('http://app/'), cluster.clock.sleep(1).then(() => cluster.fetch('http://app/'))];
      await cluster.clock.sleep(2);
      const fourth = cluster.fetch('http://app/').then(() => undefined, (err: unknown) => err);
      await Promise.all([first, second, third]);
      return fourth;
    });
    expect(refusal).toBeInstanceOf(NetworkError);
    expect((refusal as NetworkError).message).toBe('client → app: connection refused (backlog full: 2 requests already wait for a core)');
  });
});

describe('database capacity', () => {
  test('statements queue for the database cores, so an overloaded database slows every caller', async () => {
    const cluster = new Cluster();
    await cluster.addDatabase('db', { setup: 'CREATE TABLE t (v INTEGER)', cost: 5, cores: 1 });
    cluster.addNode('app', (ctx) => async () => {
      await ctx.db.query('SELECT count(*) FROM t');
      return new Response(`answered at ${ctx.now()}`);
    });
    expect(await burst(cluster, 'http://app/', [0, 0, 0, 0])).toEqual(['answered at 5', 'answered at 10', 'answered at 15', 'answered at 20']);
    expect(cluster.metrics.node('db').utilisation).toBe(1);
  });

  test('over maxConnections a call fails at once with "too many connections", kind refused', async () => {
    const cluster = new Cluster();
    await cluster.addDatabase('db', { setup: 'CREATE TABLE t (v INTEGER)', cost: 10, maxConnections: 2 });
    cluster.addNode('app', (ctx) => async () => {
      try {
        await ctx.db.run('INSERT INTO t VALUES (1)');
        return new Response(`ok at ${ctx.now()}`);
      } catch (err) {
        return new Response(`${failureKind(err)} at ${ctx.now()}: ${(err as Error).message}`, { status: 503 });
      }
    });
    expect(await burst(cluster, 'http://app/', [0, 0, 0, 11])).toEqual([
      'ok at 10',
      'ok at 10',
      'refused at 0: app → db: connection refused (too many connections: all 2 are in use)',
      'ok at 21',
    ]);
    const db = cluster.metrics.node('db');
    expect([db.refused, db.connections, db.queries]).toEqual([1, 0, 3]);
  });
});
