import { describe, expect, test } from 'vitest';
import { Cluster, getCookie, percentile, type NodeFactory } from '@scale-lab/kit';

const busy = (ms: number): NodeFactory => (ctx) => async () => {
  await ctx.work(ms);
  return new Response('ok');
};

describe('open loop', () => {
  test('even arrivals at a fixed rate start every 1000 / rate ms, whatever the answers', async () => {
    const cluster = new Cluster().addNode('app', busy(5));
    const report = await cluster.load({ target: 'http://app/', requests: 50, rate: 100, arrivals: 'even' });
    expect([report.requests, report.ok, report.duration, report.latency.max]).toEqual([50, 50, 495, 5]);
    expect(report.intervals.map((i) => [i.start, i.end, i.sent, i.completed])).toEqual([[0, 495, 50, 50]]);
  });

  test('Poisson arrivals are seeded: about `rate` a second, never evenly spaced, the same with the same seed', async () => {
    async function run(seed: number) {
      const cluster = new Cluster({ seed }).addNode('app', busy(1));
      return cluster.load({ target: 'http://app/', duration: 10_000, rate: 100 });
    }
    const a = await run(1);
    expect(a.requests).toBeGreaterThan(900);
    expect(a.requests).toBeLessThan(1_100);
    expect(a.intervals).toHaveLength(10);
    expect(new Set(a.intervals.map((i) => i.sent)).size).toBeGreaterThan(3);
    expect(await run(1)).toEqual(a);
    expect((await run(2)).requests).not.toBe(a.requests);
  });

  test('above capacity, throughput levels off at cores / work and latency climbs interval by interval', async () => {
    const cluster = new Cluster().addNode('app', busy(10), { cores: 1 });
    const report = await cluster.load({ target: 'http://app/', duration: 3_000, rate: 150, arrivals: 'even' });
    const full = report.intervals.slice(0, 3);
    expect(full.map((i) => i.sent)).toEqual([150, 150, 150]);
    // The first answer leaves at 10 ms, so the first second holds 99 of them.
    expect(full.map((i) => i.throughput)).toEqual([99, 100, 100]);
    const p50s = full.map((i) => i.latency.p50);
    expect(p50s[1]).toBeGreaterThan(p50s[0]!);
    expect(p50s[2]).toBeGreaterThan(p50s[1]!);
    expect(report.requests).toBe(450);
    expect(report.duration).toBe(4_500);
  });

  test('rates in steps and ramps', async () => {
    const cluster = new Cluster().addNode('app', busy(1));
    const steps = await cluster.load({ target: 'http://app/', duration: 3_000, rate: { steps: [{ at: 0, rate: 10 }, { at: 1_000, rate: 50 }, { at: 2_000, rate: 0 }] }, arrivals: 'even' });
    expect(steps.intervals.map((i) => i.sent)).toEqual([10, 50, 0]);
    const ramp = await cluster.load({ target: 'http://app/', duration: 4_000, rate: { from: 0, to: 200 } });
    const sent = ramp.intervals.map((i) => i.sent);
    expect(sent).toHaveLength(4);
    expect(sent[0]).toBeLessThan(sent[1]!);
    expect(sent[1]).toBeLessThan(sent[2]!);
    expect(sent[2]).toBeLessThan(sent[3]!);
    expect(ramp.requests).toBeGreaterThan(350);
    expect(ramp.requests).toBeLessThan(450);
  });
});

describe('the report', () => {
  test('overall percentiles come from every raw sample, not from averaging the intervals', async () => {
    let slow = false;
    const cluster = new Cluster().addNode('app', (ctx) => async () => {
      await ctx.sleep(slow ? 100 : 10);
      return new Response('ok');
    });
    cluster.clock.setTimeout(() => (slow = true), 1_000);
    const report = await cluster.load({ target: 'http://app/', duration: 2_000, rate: 40, arrivals: 'even' });
    const [first, second] = report.intervals;
    expect([first!.latency.p50, first!.latency.p99]).toEqual([10, 10]);
    expect([second!.latency.p50, second!.latency.p99]).toEqual([100, 100]);
    // 40 fast and 40 slow: the median of all 80 samples is 10 (nearest rank), the mean 55.
    expect([report.latency.p50, report.latency.p90, report.latency.mean]).toEqual([10, 100, 55]);
    expect(report.latency.p50).toBe(percentile([...Array(40).fill(10), ...Array(40).fill(100)], 50));
  });

  test('errors and error rate per interval', async () => {
    const cluster = new Cluster().addNode('app', busy(1));
    cluster.clock.setTimeout(() => cluster.fail('app', 503), 500);
    const report = await cluster.load({ target: 'http://app/', duration: 1_000, rate: 20, arrivals: 'even', interval: 500 });
    expect(report.intervals.map((i) => [i.completed, i.failed, i.errorRate])).toEqual([[10, 0, 0], [10, 10, 1]]);
    expect([report.ok, report.failed, report.errorRate, report.statuses]).toEqual([10, 10, 0.5, { 200: 10, 503: 10 }]);
  });
});

describe('named clients', () => {
  const sessions: NodeFactory = () => {
    let next = 0;
    const seen = new Map<string, number>();
    return (req) => {
      let sid = getCookie(req, 'sid');
      const headers = new Headers();
      if (!sid) {
        sid = `s${++next}`;
        headers.append('set-cookie', `sid=${sid}; Path=/; Max-Age=60`);
      }
      seen.set(sid, (seen.get(sid) ?? 0) + 1);
      return new Response(`${sid} visit ${seen.get(sid)}`, { headers });
    };
  };

  test('each client keeps its own cookies, like a browser; they expire on the cluster clock', async () => {
    const cluster = new Cluster().addNode('www', sessions);
    const alice = cluster.client('alice');
    const bob = cluster.client('bob');
    expect(await (await alice.fetch('http://www/')).text()).toBe('s1 visit 1');
    expect(await (await bob.fetch('http://www/')).text()).toBe('s2 visit 1');
    expect(await (await alice.fetch('http://www/cart')).text()).toBe('s1 visit 2');
    expect(alice.cookies.get('http://www/', 'sid')).toBe('s1');
    expect(cluster.client('alice')).toBe(alice);
    await cluster.sleep(60_000);
    expect(await (await alice.fetch('http://www/')).text()).toBe('s3 visit 1');
  });

  test('the load generator spreads requests over named clients, each with its session', async () => {
    const cluster = new Cluster().addNode('www', sessions);
    const report = await cluster.load({ target: 'http://www/', requests: 30, concurrency: 3, clients: 3 });
    expect(report.ok).toBe(30);
    expect(['client-1', 'client-2', 'client-3'].map((name) => cluster.client(name).cookies.get('http://www/', 'sid'))).toEqual(['s1', 's2', 's3']);
    expect(await (await cluster.client('client-2').fetch('http://www/')).text()).toBe('s2 visit 11');
  });

  test('a client has its own name on the network: a partition can cut one reader off', async () => {
    const cluster = new Cluster({ networkTimeout: 1_000 }).addNode('www', sessions);
    cluster.client('bob');
    cluster.partition(['alice'], ['www', 'bob']);
    await expect(cluster.client('alice').fetch('http://www/')).rejects.toThrow('alice → www: no answer after 1000 ms');
    expect((await cluster.client('bob').fetch('http://www/')).status).toBe(200);
    expect(() => cluster.addNode('alice', sessions)).toThrow('The cluster already has a client named "alice".');
  });
});
