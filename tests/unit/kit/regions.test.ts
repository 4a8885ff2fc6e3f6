import { describe, expect, test } from 'vitest';
import { AWS_REGION_RTT, Cluster, failureKind, type NodeFactory } from '@scale-lab/kit';

const hello: NodeFactory = (ctx) => async () => new Response(`${ctx.name} at ${ctx.now()}`);

describe('regions', () => {
  test('a link between regions carries half their round trip; within a region, the default latency', async () => {
    const cluster = new Cluster({ latency: 1 }).addNode('app-us', hello).addNode('app-eu', hello);
    cluster.place('us-east', 'app-us');
    cluster.place('eu-west', 'app-eu');
    const alice = cluster.client('alice', { region: 'eu-west' });
    expect(AWS_REGION_RTT['us-east']!['eu-west']).toBe(81);
    expect(await (await alice.fetch('http://app-us/')).text()).toBe('app-us at 40.5');
    expect(cluster.clock.now()).toBe(81);
    expect(await (await alice.fetch('http://app-eu/')).text()).toBe('app-eu at 82');
    expect([cluster.regionOf('alice'), cluster.regionOf('app-us')]).toEqual(['eu-west', 'us-east']);
    cluster.setRegionLatency({ 'us-east': { 'eu-west': 100 } });
    await alice.fetch('http://app-us/');
    expect(cluster.clock.now()).toBe(183);
  });

  test('a whole region can be killed or cut off', async () => {
    const cluster = new Cluster({ networkTimeout: 1_000 }).addNode('app-us', hello).addNode('app-eu', hello);
    cluster.place('us-east', 'app-us');
    cluster.place('eu-west', 'app-eu');
    const bob = cluster.client('bob', { region: 'us-east' });
    const attempt = (url: string) => bob.fetch(url).then((r) => r.status, (err: unknown) => failureKind(err));
    cluster.killRegion('eu-west');
    expect(await attempt('http://app-eu/')).toBe('refused');
    cluster.reviveRegion('eu-west');
    cluster.partitionRegion('eu-west');
    expect(await attempt('http://app-eu/')).toBe('timeout');
    expect(await attempt('http://app-us/')).toBe(200);
  });
});

describe('name resolution owned by the lab', () => {
  test('GeoDNS: each client gets its region\'s node; after a region fails, clients switch only when their TTL ends', async () => {
    const cluster = new Cluster({ latency: 1 }).addNode('app-us', hello).addNode('app-eu', hello);
    cluster.place('us-east', 'app-us');
    cluster.place('eu-west', 'app-eu');
    const lookups: string[] = [];
    // The lab's resolver: the client's own region if its node is up, else the other one; TTL 30 s.
    cluster.setResolver((host, asker) => {
      if (host !== 'www') return undefined;
      lookups.push(`${asker.name}@${cluster.clock.now()}`);
      const near = asker.region === 'eu-west' ? 'app-eu' : 'app-us';
      const far = near === 'app-eu' ? 'app-us' : 'app-eu';
      return { address: cluster.stateOf(near) === 'up' ? near : far, ttl: 30_000 };
    });
    const paris = cluster.client('paris', { region: 'eu-west' });
    const boston = cluster.client('boston', { region: 'us-east' });
    expect(await (await paris.fetch('http://www/')).text()).toMatch(/^app-eu/);
    expect(await (await boston.fetch('http://www/')).text()).toMatch(/^app-us/);
    cluster.killRegion('eu-west');
    const failed = await paris.fetch('http://www/').then(() => 'ok', (err: unknown) => failureKind(err));
    expect(failed).toBe('refused');
    await cluster.sleep(30_000);
    expect(await (await paris.fetch('http://www/')).text()).toMatch(/^app-us/);
    expect(lookups).toEqual(['paris@0', 'boston@2', 'paris@30005']);
  });
  test('a request with a body reaches the node the resolver names whole: method, headers, cookies and body; its signal still aborts it', async () => {
    const echo: NodeFactory = () => async (req) => Response.json({ method: req.method, type: req.headers.get('content-type'), cookie: req.headers.get('cookie'), body: await req.text() }, { headers: { 'set-cookie': 'seen=1; Path=/' } });
    const cluster = new Cluster({ latency: 1 }).addNode('app-eu', echo).addNode('slow', () => async () => new Response('late'));
    cluster.place('eu-west', 'app-eu', 'slow');
    cluster.setResolver((host) => (host === 'www' ? { address: 'app-eu', ttl: 1000 } : host === 'late' ? { address: 'slow', ttl: 1000 } : undefined));
    const paris = cluster.client('paris', { region: 'eu-west' });
    const put = () => paris.fetch('http://www/profile', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"name":"Ada"}' });
    expect(await (await put()).json()).toEqual({ method: 'PUT', type: 'application/json', cookie: null, body: '{"name":"Ada"}' });
    expect(await (await put()).json()).toEqual({ method: 'PUT', type: 'application/json', cookie: 'seen=1', body: '{"name":"Ada"}' });
    cluster.slow('slow', 5000);
    const gaveUp = await paris.fetch('http://late/', { method: 'POST', body: 'x', signal: cluster.timeout(100) }).then(() => 'answered', (err: unknown) => (err as Error).name);
    expect(gaveUp).toBe('TimeoutError');
  });
});

describe('clock skew', () => {
  test("a node's clock runs ahead, behind or drifts; the cluster keeps true time", async () => {
    const cluster = new Cluster().addNode('fast', hello).addNode('slow', hello);
    cluster.skew('fast', { offset: 5_000 });
    cluster.skew('slow', { offset: -200, drift: 0.01 });
    expect(await (await cluster.fetch('http://fast/')).text()).toBe('fast at 5000');
    await cluster.sleep(1_000);
    expect(await (await cluster.fetch('http://slow/')).text()).toBe('slow at 810');
    expect(cluster.clock.now()).toBe(1_000);
    cluster.skew('fast', {});
    expect(await (await cluster.fetch('http://fast/')).text()).toBe('fast at 1000');
  });
});
