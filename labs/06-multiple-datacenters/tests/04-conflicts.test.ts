import { expect, test } from 'vitest';
import { evidence, seededRandom, type Client, type Cluster, type ClusterEvent } from '@scale-lab/kit';
import { DATACENTERS, appServersOf, balancerOf, isCall, multiDcCluster, roundTrip, storeOf } from './helpers.ts';

/** eu-west's app servers' clocks run this far behind true time (NTP gone wrong). */
const SKEW_MS = -200;
const SKEWED = 'eu-west';
/** Long enough after a partition heals for every shipment to have been retried and applied. */
const SETTLE_MS = 8000;

/** One reader in each datacenter's region, sent straight to it; eu-west's clocks skewed. */
/** A request from the reader in `dc` to its datacenter's balancer (or straight to the node `to`); expects 200 and answers the JSON. */
type Send = (dc: string, method: string, path: string, body?: unknown, to?: string) => Promise<Record<string, unknown>>;

async function boardCluster(seed = 1): Promise<{ cluster: Cluster; readers: Map<string, Client>; send: Send }> {
  // No DNS servers: readers here talk to their own datacenter's balancer.
  const cluster = multiDcCluster({ seed, readerRegions: [] });
  for (const app of appServersOf(SKEWED)) cluster.skew(app, { offset: SKEW_MS });
  const readers = new Map(DATACENTERS.map((dc) => [dc, cluster.client(`reader-in-${dc}`, { region: dc })]));
  // Straight to the reader's own datacenter's balancer: this step is about the data, not the routing.
  const send: Send = async (dc, method, path, body, to = balancerOf(dc)) => {
    const res = await readers.get(dc)!.fetch(`http://${to}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    expect(res.status, `${method} ${path} in ${dc} answered ${res.status}: ${JSON.stringify(answer)}`).toBe(200);
    return answer;
  };
  return { cluster, readers, send };
}

/** What each datacenter shows for a board, as "us-west: …, eu-west: …". */
async function everywhere(send: Send, board: string, field: string): Promise<Map<string, unknown>> {
  const seen = new Map<string, unknown>();
  for (const dc of DATACENTERS) seen.set(dc, (await send(dc, 'GET', `/boards/${board}`))[field]);
  return seen;
}
/** From `since` on: the requests for `board`, every shipment between datacenters, and the store commands for the board. */
const boardSince = (board: string, since: number) => (e: ClusterEvent) =>
  (isCall(e) && e.start >= since && (e.path.startsWith(`/boards/${board}`) || e.path.startsWith('/internal/'))) || (e.type === 'kv' && e.at >= since && e.key.includes(board));
const describe = (seen: Map<string, unknown>) => [...seen].map(([dc, v]) => `${dc} ${JSON.stringify(v)}`).join(', ');

/** A board titled in us-west; ada in eu-west reads until she sees it, then `between` runs, then she writes her own title to `to`. */
async function readThenWrite(cluster: Cluster, send: Send, board: string, first: string, second: string, between: () => Promise<string | undefined>): Promise<void> {
  const since = cluster.clock.now();
  await send('us-west', 'PUT', `/boards/${board}`, { title: first });
  let seen = false;
  for (let waited = 0; waited < 2000 && !seen; waited += 10) {
    seen = (await send(SKEWED, 'GET', `/boards/${board}`)).title === first;
    if (!seen) await cluster.sleep(10);
  }
  evidence(`"${first}" written in us-west, what was shipped meanwhile, and the reads in ${SKEWED} waiting for it`, boardSince(board, since));
  expect(seen, `"${first}", written in us-west, did not reach ${SKEWED} within 2 s`).toBe(true);
  const to = await between();
  await send(SKEWED, 'PUT', `/boards/${board}`, { title: second }, to);
  await cluster.sleep(SETTLE_MS);
}

test(`a write made after its writer saw another write wins everywhere, though the writer's clock runs ${-SKEW_MS} ms behind, and though its app server restarted in between`, async () => {
  const { cluster, send } = await boardCluster();
  // Which of eu-west's app servers applied what us-west shipped: ada's write goes to that one first.
  let applied: string | undefined;
  cluster.metrics.on((event) => {
    if (event.type === 'sent' && event.from === balancerOf(SKEWED) && event.path === '/internal/replicate') applied = event.to;
  });
  let since = cluster.clock.now();
  await readThenWrite(cluster, send, 'plans', 'Plan A', 'Plan B', async () => applied);
  let seen = await everywhere(send, 'plans', 'title');
  let stale = [...seen].filter(([, t]) => t !== 'Plan B').map(([dc]) => dc);
  evidence('the writes and reads of the board "plans", every shipment between datacenters, and the store commands for it', boardSince('plans', since));
  expect(stale, `ada in ${SKEWED} read "Plan A" and then wrote "Plan B" (on ${applied ?? 'the app server'} that had applied "Plan A"), so hers is the later write, yet ${stale.join(' and ')} show${stale.length === 1 ? 's' : ''} another title (${describe(seen)}): ${SKEWED}'s clocks run ${-SKEW_MS} ms behind, so a wall-clock timestamp made her later write look older. Stamp each write later than anything its region has seen: a version, or a hybrid logical clock, Math.max(ctx.now(), last stamp seen + 1)`).toEqual([]);

  // The same, with a deploy between her read and her write: eu-west's app servers start afresh.
  since = cluster.clock.now();
  await readThenWrite(cluster, send, 'dates', 'Friday', 'Saturday', async () => {
    for (const app of appServersOf(SKEWED)) cluster.restart(app);
    return undefined;
  });
  seen = await everywhere(send, 'dates', 'title');
  stale = [...seen].filter(([, t]) => t !== 'Saturday').map(([dc]) => dc);
  evidence('the writes and reads of the board "dates", every shipment between datacenters, and the store commands for it', boardSince('dates', since));
  expect(stale, `ada in ${SKEWED} read "Friday", then ${appServersOf(SKEWED).join(' and ')} restarted (a deploy), then she wrote "Saturday", yet ${stale.join(' and ')} show${stale.length === 1 ? 's' : ''} another title (${describe(seen)}): the stamp to beat was kept in an app server's memory, which a restart wipes and the region's other app server never had. Take the last stamp seen from what the region's store holds`).toEqual([]);
});

test('concurrent writes to a title resolve the same way in every datacenter, whatever order they arrive in (3 seeds)', async () => {
  for (const seed of [1, 2, 3]) {
    const { cluster, send } = await boardCluster(seed);
    const random = seededRandom(seed);
    // Seed 1: all three at the same moment; then a few ms apart, in a seeded order.
    const since = cluster.clock.now();
    const delays = DATACENTERS.map(() => (seed === 1 ? 0 : Math.floor(random() * 40)));
    cluster.partitionRegion(SKEWED);
    await cluster.run(() => Promise.all(DATACENTERS.map(async (dc, i) => {
      await cluster.sleep(delays[i]!);
      await send(dc, 'PUT', '/boards/colours', { title: `${dc}'s choice` });
    })));
    await cluster.sleep(3000);
    cluster.heal();
    await cluster.sleep(SETTLE_MS);
    const seen = await everywhere(send, 'colours', 'title');
    evidence(`the three writes and the reads of the board "colours", every shipment between datacenters, and the store commands for it (seed ${seed})`, boardSince('colours', since));
    expect(new Set(seen.values()).size, `the three datacenters each changed the board's title at nearly the same moment (${delays.map((d, i) => `${DATACENTERS[i]} at +${d} ms`).join(', ')}, seed ${seed}), ${SKEWED} cut off for 3 s; ${SETTLE_MS / 1000} s after it healed, the datacenters disagree: ${describe(seen)}. Every replica must pick the same winner whatever order writes arrive in: compare stamps, and break a tie the same way everywhere (by region name)`).toBe(1);
  }
});

test('two titles written at the same moment in one region, by its two app servers, end the same everywhere (2 seeds)', async () => {
  for (const seed of [1, 2]) {
    const { cluster, send } = await boardCluster(seed);
    const origin = 'us-west';
    // One of us-west's app servers is a millisecond farther from the other datacenters (the seed says which),
    // so what its two app servers ship lands a millisecond apart, on both app servers there.
    const farther = appServersOf(origin)[seed % 2]!;
    for (const dc of DATACENTERS) if (dc !== origin) cluster.link(farther, balancerOf(dc), { latency: roundTrip(origin, dc) / 2 + 1 });
    // Two editors save the board's title at the same moment; the balancer gives one to each app server.
    const since = cluster.clock.now();
    await cluster.run(() => Promise.all(['Roadmap', 'Road map'].map((title) => send(origin, 'PUT', '/boards/agenda', { title }))));
    await cluster.sleep(1000);
    const seen = await everywhere(send, 'agenda', 'title');
    evidence(`the two writes and the reads of the board "agenda", every shipment between datacenters, and the store commands for it (seed ${seed})`, boardSince('agenda', since));
    expect(new Set(seen.values()).size, `two titles written at the same moment in ${origin}, one by each of its app servers, got the same stamp from the same region (seed ${seed}); 1 s later the datacenters disagree: ${describe(seen)}. Applying a title by reading the stored one, comparing and then writing lets two applies at once cross, and a tie that stamp and region cannot break keeps whichever landed last: keep titles in one atomic command that breaks every tie the same way (a sorted set scored by stamp, member [region, title]: kv.zadd(key, time, member, { gt: true }))`).toBe(1);
  }
});

/** What every datacenter shows for the likes of `board`, against the `made` per region. */
async function expectAllCounted(send: Send, made: Map<string, number>, situation: string, overCounted: string): Promise<void> {
  const total = [...made.values()].reduce((a, b) => a + b, 0);
  const seen = await everywhere(send, 'launch', 'likes');
  for (const [dc, shown] of seen) {
    const n = Number(shown);
    const why = n > total ? overCounted : `${total - n} were lost: a count shipped from one region overwrote likes made elsewhere, as last-writer-wins does to a counter`;
    evidence(`the likes made, the counts read, and the shipments ${dc} took in`, (e) => isCall(e) && (e.path.startsWith('/boards/launch') || (e.path.startsWith('/internal/') && (e.to === balancerOf(dc) || e.from === balancerOf(dc)))));
    expect(n, `${situation}, ${dc} shows ${n} likes, but ${total} were made (${[...made].map(([r, k]) => `${k} in ${r}`).join(', ')}): ${why}. Keep one count per region, each changed only by its own region, merge by taking the larger of each, and show their sum (a G-counter)`).toBe(total);
  }
}

test('likes made on both sides of a partition all count once it heals, each exactly once (2 seeds)', async () => {
  for (const seed of [1, 2]) {
    const { cluster, send } = await boardCluster(seed);
    const random = seededRandom(seed * 7919);
    const made = new Map(DATACENTERS.map((dc) => [dc, 0]));
    const like = async (dc: string, n: number) => {
      for (let i = 0; i < n; i++) {
        await send(dc, 'POST', '/boards/launch/likes');
        made.set(dc, made.get(dc)! + 1);
        await cluster.sleep(100 + Math.floor(random() * 200));
      }
    };
    const likeEverywhere = () => cluster.run(() => Promise.all(DATACENTERS.map((dc) => like(dc, 2 + Math.floor(random() * 4)))));
    await likeEverywhere();
    await cluster.sleep(2000);
    await expectAllCounted(send, made, `with no fault at all (seed ${seed}), 2 s after the last like`, 'it counted some likes more than once: adding up the totals that regions ship counts the likes already counted again each time');
    // ap-southeast is cut off, and its balancer's answers so slow that shippers give up and ship again what it applied.
    const cut = 'ap-southeast';
    cluster.partitionRegion(cut);
    cluster.slow(balancerOf(cut), 3500);
    await likeEverywhere();
    cluster.heal();
    await cluster.sleep(4000);
    cluster.recover(balancerOf(cut));
    await cluster.sleep(SETTLE_MS);
    await expectAllCounted(send, made, `${cut} was cut off, and ${balancerOf(cut)}'s answers so slow that shipments to it were applied, timed out and shipped again (seed ${seed}); ${(4000 + SETTLE_MS) / 1000} s after it healed`, 'a shipment that arrived twice was counted twice: applying a shipment must change nothing the second time, so ship counts, not increments, and keep the larger');
  }
});

test('likes made at the same moment in one region all count, there and everywhere (2 seeds)', async () => {
  for (const seed of [1, 2]) {
    const { cluster, send } = await boardCluster(seed);
    const random = seededRandom(seed * 104_729);
    const BURST = 8;
    // One of eu-west's app servers is a millisecond farther from the other datacenters (the seed says which),
    // so what its two app servers ship lands a millisecond apart, on both app servers there.
    const farther = appServersOf(SKEWED)[seed % 2]!;
    for (const dc of DATACENTERS) if (dc !== SKEWED) cluster.link(farther, balancerOf(dc), { latency: roundTrip(SKEWED, dc) / 2 + 1 });
    // A post goes viral in eu-west: likes arrive a millisecond or two apart, at both of its app servers.
    const since = cluster.clock.now();
    await cluster.run(() => Promise.all(Array.from({ length: BURST }, async () => {
      await cluster.sleep(Math.floor(random() * 3));
      await send(SKEWED, 'POST', '/boards/viral/likes');
    })));
    const here = Number((await send(SKEWED, 'GET', '/boards/viral')).likes);
    evidence(`the ${BURST} likes made in ${SKEWED}, and the store commands they sent there`, (e) => (isCall(e) && e.start >= since && e.path === '/boards/viral/likes') || (e.type === 'kv' && e.at >= since && e.node === storeOf(SKEWED) && e.key.includes('viral')));
    expect(here, `${BURST} likes made within 3 ms in ${SKEWED} (seed ${seed}), and ${SKEWED} itself counts ${here}: requests that read the count at the same time all wrote back the same number, so the likes of all but one were lost. Add in one atomic command, kv.hincrby(key, region, 1), never a read then a write`).toBe(BURST);
    await cluster.sleep(1000);
    const seen = await everywhere(send, 'viral', 'likes');
    const short = [...seen].filter(([, n]) => Number(n) !== BURST);
    const why = short.some(([, n]) => Number(n) > BURST)
      ? 'some were counted more than once: a region\'s count replaces the one kept for it, it is not added'
      : `both of ${SKEWED}'s app servers shipped a count at once, and ${short.map(([dc]) => dc).join(' and ')} applied them at once: each read the stored count, compared and wrote, so a smaller count could land last. Keep the larger in one atomic command (a sorted set: kv.zadd(key, count, region, { gt: true }))`;
    evidence(`the counts ${SKEWED}'s app servers shipped, and the store commands for the board "viral"`, (e) => (isCall(e) && e.start >= since && e.path.startsWith('/internal/') && (appServersOf(SKEWED).includes(e.from) || e.from.startsWith('lb-'))) || (e.type === 'kv' && e.at >= since && e.key.includes('viral')));
    expect(short.map(([dc]) => dc), `${BURST} likes made within 3 ms in ${SKEWED} (seed ${seed}), counted there, yet 1 s later ${describe(seen)}: ${why}`).toEqual([]);
  }
});
