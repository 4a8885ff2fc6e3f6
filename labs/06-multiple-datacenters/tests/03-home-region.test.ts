import { expect, test } from 'vitest';
import type { Client, Cluster } from '@scale-lab/kit';
import { DATACENTERS, WARM_UP_MS, appServersOf, balancerOf, homeOf, multiDcCluster, storeOf, trackDatacenters, visit } from './helpers.ts';

/** Where the users of this step are, and whose profile they write: none of them is in their home region. */
const TRAVELLERS = [
  { user: 'ada', region: 'ap-sydney' },
  { user: 'bo', region: 'eu-central' },
  { user: 'chen', region: 'us-east' },
];
const READER_REGIONS = ['ap-sydney', 'eu-central', 'us-east', 'ap-southeast'];
/** Store commands that only read. */
const READS = new Set(['GET', 'MGET', 'EXISTS', 'TYPE', 'KEYS', 'TTL', 'PTTL', 'HGET', 'HGETALL', 'HLEN', 'HEXISTS', 'LRANGE', 'LLEN', 'ZRANGE', 'ZSCORE', 'ZCARD', 'ZCOUNT', 'ZRANGEBYSCORE']);

async function cluster3(): Promise<Cluster> {
  const cluster = multiDcCluster({ readerRegions: READER_REGIONS });
  await cluster.sleep(WARM_UP_MS);
  return cluster;
}

/** Replication from `home` to every other datacenter takes 1.5 s more than the network's round trip (a backlog). */
function slowReplicationFrom(cluster: Cluster, home: string): void {
  for (const app of appServersOf(home)) for (const other of DATACENTERS) if (other !== home) cluster.link(app, balancerOf(other), { latency: 1500 });
}

test("each user's writes are made in their home region before they are acknowledged, wherever the user is", async () => {
  const cluster = await cluster3();
  const where = trackDatacenters(cluster);
  const writes: { node: string; from: string; key: string; at: number }[] = [];
  const answered = new Map<string, number>();
  cluster.metrics.on((event) => {
    if (event.type === 'kv' && !READS.has(event.command.toUpperCase())) writes.push({ node: event.node, from: event.from, key: event.key, at: event.at });
    if (event.type === 'request' && event.node.startsWith('lb-') && event.method === 'PUT' && !event.from.startsWith('app-')) answered.set(event.from, event.at);
  });
  for (const { user, region } of TRAVELLERS) {
    const home = homeOf(user);
    const client = cluster.client(`${user}-in-${region}`, { region });
    const res = await visit(cluster, where, client, `/profile/${user}`, { method: 'PUT', body: { name: `${user} in ${region}` } });
    expect(res.status, `PUT /profile/${user} from ${region} answered ${res.status}`).toBe(200);
    const ackAt = answered.get(client.name)!;
    const atHome = writes.filter((w) => w.node === storeOf(home) && w.key.includes(user) && appServersOf(home).includes(w.from) && w.at <= ackAt);
    expect(atHome.length, `${user}'s PUT from ${region} was acknowledged by ${res.datacenter} before their home region ${home} had written it (nothing was written for ${user} in ${storeOf(home)} by then): a write made in any region races the same user's writes made elsewhere; send each user's writes to their home region (config.homeOf) and acknowledge once it has them`).toBeGreaterThan(0);
  }
});

test('a user reads their own writes from anywhere, even while replication lags 1.5 s behind', async () => {
  const cluster = await cluster3();
  const where = trackDatacenters(cluster);
  slowReplicationFrom(cluster, homeOf('ada'));
  const devices: Client[] = ['ap-sydney', 'ap-southeast'].map((region) => cluster.client(`ada-in-${region}`, { region }));
  for (let i = 1; i <= 3; i++) {
    for (const device of devices) {
      const name = `Ada ${i} from ${device.region}`;
      const put = await visit(cluster, where, device, '/profile/ada', { method: 'PUT', body: { name } });
      expect(put.status, `ada's PUT /profile/ada from ${device.region} answered ${put.status}`).toBe(200);
      const get = await visit(cluster, where, device, '/profile/ada');
      expect(get.body.name, `ada renamed herself "${name}" from ${device.region}, and her next GET /profile/ada, answered by ${get.datacenter}, showed the old name ${JSON.stringify(get.body.name)}: ${get.datacenter}'s copy is still 1.5 s behind her home region ${homeOf('ada')}. Let her request carry what she last wrote (a version in a cookie) and, while the local copy is older, read from the home region`).toBe(name);
    }
  }
});

test("reads stay in the reader's own datacenter once its copy is up to date", async () => {
  const cluster = await cluster3();
  const where = trackDatacenters(cluster);
  const ada = cluster.client('ada-in-ap-sydney', { region: 'ap-sydney' });
  const chen = cluster.client('chen-in-ap-sydney', { region: 'ap-sydney' });
  await visit(cluster, where, ada, '/profile/ada', { method: 'PUT', body: { name: 'Ada Lovelace' } });
  await cluster.sleep(3000);
  const home = homeOf('ada');
  const toHome: string[] = [];
  cluster.metrics.on((event) => {
    if (event.type === 'sent' && event.from.startsWith('app-') && event.to === balancerOf(home) && event.method === 'GET') toHome.push(event.from);
  });
  for (const reader of [ada, chen, ada, chen]) {
    const res = await visit(cluster, where, reader, '/profile/ada');
    expect(res.body.name, `${reader.name} read ada's profile 3 s after her rename and got ${JSON.stringify(res.body.name)}`).toBe('Ada Lovelace');
  }
  expect(toHome.length, `3 s after ada's rename, every datacenter has it, yet ${toHome.length} of 4 reads of her profile from ap-sydney asked the home region ${home} (from ${[...new Set(toHome)].join(', ')}): a round trip across the world for data the local copy already has; read locally unless the reader has written something newer than the local copy`).toBe(0);
});
