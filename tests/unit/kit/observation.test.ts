import { describe, expect, test, vi } from 'vitest';
import { Cluster, type NodeFactory } from '@scale-lab/kit';

const app: NodeFactory = (ctx) => async () => {
  await ctx.kv.get('greeting');
  return new Response('ok');
};

function small(): Cluster {
  const cluster = new Cluster({ latency: 1 });
  cluster.addStore('kv', { cost: 0 });
  cluster.addNode('app-1', app).addNode('app-2', app);
  cluster.addNode('lb', (ctx) => async (req) => ctx.forward(req, 'app-1'));
  return cluster;
}

describe('observation', () => {
  test('topology: nodes with kind, role, region and state; clients; the links as observed', async () => {
    const cluster = small();
    const replicated = await cluster.addReplicatedDatabase('db', { replicas: 1, cost: 1 });
    cluster.place('eu-west', 'lb', 'app-1', 'app-2');
    await cluster.fetch('http://lb/');
    cluster.kill('app-2');
    await cluster.fetch('http://app-2/').catch(() => undefined);
    await cluster.client('zoe', { region: 'eu-west' }).fetch('http://lb/');
    replicated.promote('db-replica-1');
    const topology = cluster.topology();
    expect(topology.nodes).toEqual([
      { name: 'kv', kind: 'kv', role: undefined, region: undefined, state: 'up' },
      { name: 'app-1', kind: 'http', role: undefined, region: 'eu-west', state: 'up' },
      { name: 'app-2', kind: 'http', role: undefined, region: 'eu-west', state: 'killed' },
      { name: 'lb', kind: 'http', role: undefined, region: 'eu-west', state: 'up' },
      { name: 'db', kind: 'db', role: 'primary', region: undefined, state: 'up' },
      { name: 'db-replica-1', kind: 'db', role: 'primary', region: undefined, state: 'up' },
    ]);
    expect(topology.clients).toEqual([{ name: 'client', region: undefined }, { name: 'zoe', region: 'eu-west' }]);
    expect(topology.links).toEqual([
      { from: 'client', to: 'lb', calls: 1, failures: 0 },
      { from: 'client', to: 'app-2', calls: 1, failures: 1 },
      { from: 'lb', to: 'app-1', calls: 2, failures: 0 },
      { from: 'app-1', to: 'kv', calls: 2, failures: 0 },
      { from: 'zoe', to: 'lb', calls: 1, failures: 0 },
    ]);
  });

  test('a bounded stream of events: requests sent, answered and failed, with their times', async () => {
    const cluster = small();
    const observation = cluster.observe();
    await cluster.fetch('http://lb/');
    cluster.kill('app-2');
    await cluster.fetch('http://app-2/').catch(() => undefined);
    const summary = observation.events().map((e) => {
      if (e.type === 'sent') return `${e.at} sent ${e.from}→${e.to} ${e.method} ${e.path}`;
      if (e.type === 'answered') return `${e.at} answered ${e.from}←${e.to} ${e.status} (${e.start}–${e.end})`;
      if (e.type === 'failed') return `${e.at} failed ${e.from}→${e.to} ${e.kind}`;
      if (e.type === 'request') return `${e.at} served ${e.node} ${e.status} in ${e.latency}`;
      if (e.type === 'kv') return `${e.at} kv ${e.from} ${e.command} ${e.key}`;
      return `${e.at} ${e.type}`;
    });
    expect(summary).toEqual([
      '0 sent client→lb GET /',
      '1 sent lb→app-1 GET /',
      '3 kv app-1 GET greeting',
      '4 served app-1 200 in 2',
      '5 answered lb←app-1 200 (1–5)',
      '5 served lb 200 in 4',
      '6 answered client←lb 200 (0–6)',
      '6 node',
      '6 sent client→app-2 GET /',
      '7 failed client→app-2 refused',
    ]);
    const bounded = cluster.observe(3);
    await cluster.fetch('http://lb/');
    // One request through the balancer makes 7 events; the last 3 are kept.
    expect(bounded.events().map((e) => e.type)).toEqual(['answered', 'request', 'answered']);
    expect(bounded.dropped).toBe(4);
    expect(bounded.events().at(-1)).toMatchObject({ type: 'answered', from: 'client', to: 'lb', status: 200 });
    observation.stop();
    bounded.stop();
  });

  test('nobody listening: no event is even built', async () => {
    const cluster = small();
    const emit = vi.spyOn(cluster.metrics, 'emit');
    await cluster.load({ target: 'http://lb/', requests: 50 });
    expect(emit).not.toHaveBeenCalled();
    const observation = cluster.observe(100);
    await cluster.fetch('http://lb/');
    expect(emit).toHaveBeenCalledTimes(7);
    observation.stop();
    expect(cluster.metrics.listening).toBe(false);
  });

  test('a store counts hits and misses only when declared a cache', async () => {
    const cluster = new Cluster();
    cluster.addStore('sessions', { cost: 0 });
    cluster.addStore('cache', { cost: 0, cache: true });
    cluster.addNode('app', (ctx) => async () => {
      await ctx.store('sessions').get('s1');
      await ctx.store('cache').get('page:1');
      await ctx.store('cache').set('page:1', 'html');
      await ctx.store('cache').get('page:1');
      return new Response('ok');
    });
    await cluster.fetch('http://app/');
    expect(cluster.metrics.node('sessions')).toMatchObject({ kvReads: 1, cacheHits: 0, cacheMisses: 0 });
    expect(cluster.metrics.node('cache')).toMatchObject({ kvReads: 2, cacheHits: 1, cacheMisses: 1 });
    expect(cluster.metrics.node('app')).toMatchObject({ kvReads: 3, cacheHits: 1, cacheMisses: 1 });
    expect(cluster.topology().nodes.map((n) => n.role)).toEqual([undefined, 'cache', undefined]);
  });
});
