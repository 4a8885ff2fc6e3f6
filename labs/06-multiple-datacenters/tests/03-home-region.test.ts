import { expect, test } from 'vitest';
import { evidence, type Client, type Cluster, type ClusterEvent } from '@scale-lab/kit';
import { DATACENTERS, WARM_UP_MS, callsFrom, isCall, appServersOf, balancerOf, homeOf, multiDcCluster, roundTrip, storeOf, trackDatacenters, visit } from './helpers.ts';

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

/** How far behind the home region the other datacenters' copies are while replication lags (a backlog). */
const LAG_MS = 1500;

/** Replication from `home` to every other datacenter takes LAG_MS more than the network's round trip. */
function slowReplicationFrom(cluster: Cluster, home: string): void {
  for (const app of appServersOf(home)) for (const other of DATACENTERS) if (other !== home) cluster.link(app, balancerOf(other), { latency: LAG_MS });
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
    const sentAt = cluster.clock.now();
    const res = await visit(cluster, where, client, `/profile/${user}`, { method: 'PUT', body: { name: `${user} in ${region}` } });
    evidence(`${user}'s PUT from ${region}`, callsFrom([client.name]));
    expect(res.status, `PUT /profile/${user} from ${region} answered ${res.status}`).toBe(200);
    const ackAt = answered.get(client.name)!;
    const writtenBy = (dc: string) => writes.filter((w) => w.node === storeOf(dc) && w.key.includes(user) && appServersOf(dc).includes(w.from) && w.at <= ackAt);
    const atHome = writtenBy(home);
    // Written where it was received, or nowhere yet: the answer went out before the home region's did.
    const why = res.datacenter !== home && writtenBy(res.datacenter).length > 0
      ? `a write made in any region races the same user's writes made elsewhere; send each user's writes to their home region (config.homeOf) and acknowledge once it has them`
      : `no datacenter had written it yet: the answer did not wait for the home region's. Send the write on to the home region, await its answer, and answer with it`;
    evidence(`${user}'s PUT from ${region}, the calls it led to, and the store writes for ${user} before it was acknowledged`, (e) => (isCall(e) && e.start >= sentAt && e.path === `/profile/${user}`) || (e.type === 'kv' && !READS.has(e.command.toUpperCase()) && e.key.includes(user) && e.at <= ackAt));
    expect(atHome.length, `${user}'s PUT from ${region} was acknowledged by ${res.datacenter} before their home region ${home} had written it (nothing was written for ${user} in ${storeOf(home)} by then): ${why}`).toBeGreaterThan(0);
  }
});

/** What a reader was shown for a name: the name, or that there was none yet. */
const shown = (name: unknown) => (name === undefined ? '(none yet: 404)' : JSON.stringify(name));

const VERSION_WHY = "the home region took her rename for an older one. A version counted in one app server's memory starts again on the other app server, and after a restart: count each user's versions in the store (kv.incr)";
/** How far the clock of the home region's second app server runs behind the first's (NTP is never exact). */
const HOME_SKEW_MS = -300;

/**
 * Why ada, who just wrote `name`, was shown an older one by `dc`: her home region itself ignored the
 * write, or her request carried nothing (no cookie), or the region did not act on what it carried.
 */
async function staleWhy(cluster: Cluster, device: Client, name: string, dc: string, lag: string): Promise<string> {
  const home = homeOf('ada');
  // eu-central's nearest datacenter is ada's home, eu-west: a reader there with no cookie reads the home copy.
  const atHome = await visit(cluster, trackDatacenters(cluster), cluster.client(`home-reader-${Math.round(cluster.clock.now())}`, { region: 'eu-central' }), '/profile/ada');
  if (atHome.body.name !== name) return `her home region ${home} itself shows ${shown(atHome.body.name)}: ${VERSION_WHY}`;
  if (device.cookies.header('http://www/profile/ada') === undefined) {
    return `her request carried no cookie, so nothing told ${dc} what she had written: a version remembered in the memory of the app server that took her rename is not there when another app server, or a restarted one, answers her next request. Give her the version she wrote in a cookie and, while the local copy is older, read from the home region`;
  }
  return `${dc}'s copy is still ${lag} behind her home region ${home}. Let her request carry what she last wrote (a version in a cookie) and, while the local copy is older, read from the home region`;
}

test(`a user reads their own writes from anywhere, even while replication lags ${LAG_MS / 1000} s behind, and after a restart`, async () => {
  const cluster = await cluster3();
  const where = trackDatacenters(cluster);
  slowReplicationFrom(cluster, homeOf('ada'));
  const devices: Client[] = ['ap-sydney', 'ap-southeast'].map((region) => cluster.client(`ada-in-${region}`, { region }));
  let last = { device: devices[0]!, name: '', dc: '', sentAt: 0 };
  /** `device`'s requests from `since` on, and the calls the app servers made for ada's profile meanwhile. */
  const adaSince = (device: Client, since: number) => (e: ClusterEvent) => isCall(e) && e.start >= since && (e.from === device.name || (e.from.startsWith('app-') && e.path === '/profile/ada'));
  for (let i = 1; i <= 3; i++) {
    for (const device of devices) {
      const name = `Ada ${i} from ${device.region}`;
      const sentAt = cluster.clock.now();
      const put = await visit(cluster, where, device, '/profile/ada', { method: 'PUT', body: { name } });
      evidence(`ada's PUT from ${device.region}`, callsFrom([device.name], sentAt));
      expect(put.status, `ada's PUT /profile/ada from ${device.region} answered ${put.status}`).toBe(200);
      // The last time round, a deploy restarts the app servers of her datacenter between her write and her read.
      const restarted = i === 3 && device === devices[1];
      if (restarted) for (const app of appServersOf(put.datacenter)) cluster.restart(app);
      const get = await visit(cluster, where, device, '/profile/ada');
      if (get.body.name !== name) {
        const why = await staleWhy(cluster, device, name, get.datacenter, `${LAG_MS / 1000} s`);
        evidence(`ada's rename from ${device.region}, her next read, and the calls the app servers made for her profile`, adaSince(device, sentAt));
        expect(get.body.name, `ada renamed herself "${name}" from ${device.region}, and ${restarted ? `after ${appServersOf(put.datacenter).join(' and ')} restarted (a deploy), ` : ''}her next GET /profile/ada, answered by ${get.datacenter}, showed the old name ${shown(get.body.name)}: ${why}`).toBe(name);
      }
      last = { device, name, dc: get.datacenter, sentAt };
    }
  }
  // Later, while her datacenter's copy still lags: a window of time after a write is not a version.
  const LATER_MS = 1000;
  await cluster.sleep(LATER_MS);
  const again = await visit(cluster, where, last.device, '/profile/ada');
  evidence(`ada's last rename from ${last.device.region}, her read ${LATER_MS / 1000} s later, and the calls the app servers made for her profile`, adaSince(last.device, last.sentAt));
  expect(again.body.name, `ada renamed herself "${last.name}" from ${last.device.region}; ${LATER_MS / 1000} s later, while ${last.dc}'s copy still lagged ${LAG_MS / 1000} s behind, her GET /profile/ada showed ${shown(again.body.name)}: a time window after a write ends before a lagging copy catches up, however long you make it. Compare versions instead: the one she wrote (in her cookie) with the one the local copy has`).toBe(last.name);
});

/** A cluster with no DNS servers: these tests send each request straight to a datacenter's balancer. */
const directCluster = (seed = 1) => multiDcCluster({ seed, readerRegions: [] });

/** `client`'s request straight to `dc`'s balancer: its status and JSON. */
async function atDatacenter(client: Client, dc: string, path: string, body?: unknown): Promise<{ status: number; name: unknown }> {
  const res = await client.fetch(`http://${balancerOf(dc)}${path}`, { method: body === undefined ? 'GET' : 'PUT', body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, name: ((await res.json().catch(() => ({}))) as { name?: unknown }).name };
}

test('renames take effect in order in the home region, whichever of its app servers takes them, and after they restart', async () => {
  const cluster = directCluster();
  const home = homeOf('ada');
  // The home region's app servers do not agree on the time: a version read from a clock can go back.
  cluster.skew(appServersOf(home)[1]!, { offset: HOME_SKEW_MS });
  const device = cluster.client('ada-at-home', { region: home });
  for (let i = 1; i <= 4; i++) {
    const restarted = i === 4;
    if (restarted) {
      await cluster.sleep(1000);
      for (const app of appServersOf(home)) cluster.restart(app);
    }
    // The balancer takes turns: a read of her own between two renames sends the next one to the other app server.
    if (i === 2) await atDatacenter(device, home, '/profile/ada');
    const name = `Ada ${i}`;
    const sentAt = cluster.clock.now();
    const put = await atDatacenter(device, home, '/profile/ada', { name });
    evidence(`ada's PUT of "${name}" in ${home}`, callsFrom([device.name], sentAt));
    expect(put.status, `ada's PUT /profile/ada in ${home} answered ${put.status}`).toBe(200);
    const get = await atDatacenter(device, home, '/profile/ada');
    evidence(`ada's rename to "${name}", her next read, and the store commands for her profile they sent`, (e) => (isCall(e) && e.start >= sentAt && (e.from === device.name || e.path === '/profile/ada')) || (e.type === 'kv' && e.at >= sentAt && e.key.includes('ada')));
    expect(get.name, `ada renamed herself "${name}" in her home region ${home}${restarted ? `, after ${appServersOf(home).join(' and ')} restarted` : ''}; it was acknowledged, yet her next read there showed ${shown(get.name)}: ${VERSION_WHY}; and a version taken from an app server's clock goes back when the next rename lands on the other app server, whose clock is behind by ${-HOME_SKEW_MS} ms here`).toBe(name);
  }
});

test('renames made at the same moment end the same in every datacenter (2 seeds)', async () => {
  for (const seed of [1, 2]) {
    const cluster = directCluster(seed);
    const home = homeOf('ada');
    // One of the home region's app servers is a millisecond farther from the others (the seed says which),
    // so what its two app servers ship lands a millisecond apart.
    const farther = appServersOf(home)[seed % 2]!;
    for (const dc of DATACENTERS) if (dc !== home) cluster.link(farther, balancerOf(dc), { latency: roundTrip(home, dc) / 2 + 1 });
    const DEVICES = 2;
    // ada's phone and laptop sync a new name at the same moment, at home.
    await cluster.run(() => Promise.all(Array.from({ length: DEVICES }, (_, i) => atDatacenter(cluster.client(`ada-device-${i + 1}`, { region: home }), home, '/profile/ada', { name: `Ada from device ${i + 1}` }))));
    await cluster.sleep(1000);
    // A reader with no cookie in each datacenter's region reads its copy.
    const copies = new Map<string, unknown>();
    for (const dc of DATACENTERS) copies.set(dc, (await atDatacenter(cluster.client(`reader-in-${dc}`, { region: dc }), dc, '/profile/ada')).name);
    evidence(`the ${DEVICES} renames, what ${home} shipped to the other datacenters, the store commands for ada's profile, and each copy read`, (e) => (isCall(e) && (e.from.startsWith('ada-device-') || e.from.startsWith('reader-in-') || e.path.startsWith('/internal/'))) || (e.type === 'kv' && e.key.includes('ada')));
    expect(new Set(copies.values()).size, `${DEVICES} renames of ada made at the same moment in her home region (seed ${seed}); 1 s later the datacenters disagree: ${[...copies].map(([dc, name]) => `${dc} ${shown(name)}`).join(', ')}. Applying a record by reading the stored version, comparing and then writing lets two applies at once cross, the older landing last: keep the newest in one atomic command (a sorted set: kv.zadd(key, version, name, { gt: true }))`).toBe(1);
  }
});

test("reads stay in the reader's own datacenter once its copy is up to date", async () => {
  const cluster = await cluster3();
  const where = trackDatacenters(cluster);
  const ada = cluster.client('ada-in-ap-sydney', { region: 'ap-sydney' });
  const chen = cluster.client('chen-in-ap-sydney', { region: 'ap-sydney' });
  await visit(cluster, where, ada, '/profile/ada', { method: 'PUT', body: { name: 'Ada Lovelace' } });
  await cluster.sleep(500);
  const home = homeOf('ada');
  const toHome: string[] = [];
  cluster.metrics.on((event) => {
    if (event.type === 'sent' && event.from.startsWith('app-') && event.to === balancerOf(home) && event.method === 'GET') toHome.push(event.from);
  });
  const wentHome = new Set<string>();
  const readsFrom = cluster.clock.now();
  for (const reader of [ada, chen, ada, chen]) {
    const before = toHome.length;
    const readAt = cluster.clock.now();
    const res = await visit(cluster, where, reader, '/profile/ada');
    evidence(`${reader.name}'s read of ada's profile`, callsFrom([reader.name], readAt));
    expect(res.body.name, `${reader.name} read ada's profile 0.5 s after her rename and got ${JSON.stringify(res.body.name)}`).toBe('Ada Lovelace');
    if (toHome.length > before) wentHome.add(reader.name);
  }
  // Only ada, the writer, sent home though her copy is there: she is sent home for a while after a write.
  const why = wentHome.size === 1 && wentHome.has(ada.name)
    ? `${ada.name} wrote 0.5 s ago and was sent home though the local copy had her rename: a time window after a write is a guess at the lag, too long here and too short when replication lags longer. Compare versions instead: the one she wrote (in her cookie) with the one the local copy has`
    : 'a round trip across the world for data the local copy already has; read locally unless the reader has written something newer than the local copy';
  evidence(`the 4 reads of ada's profile from ap-sydney, and the calls app servers made to ${home} for them`, (e) => isCall(e) && e.start >= readsFrom && (e.from === ada.name || e.from === chen.name || (e.from.startsWith('app-') && e.to === balancerOf(home) && e.method === 'GET')));
  expect(toHome.length, `0.5 s after ada's rename, every datacenter has it, yet ${toHome.length} of 4 reads of her profile from ap-sydney asked the home region ${home} (from ${[...new Set(toHome)].join(', ')}): ${why}`).toBe(0);
});
