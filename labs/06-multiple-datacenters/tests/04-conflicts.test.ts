import { expect, test } from 'vitest';
import { seededRandom, type Client, type Cluster } from '@scale-lab/kit';
import { DATACENTERS, appServersOf, balancerOf, multiDcCluster } from './helpers.ts';

/** eu-west's app servers' clocks run this far behind true time (NTP gone wrong). */
const SKEW_MS = -200;
const SKEWED = 'eu-west';
/** Long enough after a partition heals for every shipment to have been retried and applied. */
const SETTLE_MS = 8000;

/** One reader in each datacenter's region, sent straight to it; eu-west's clocks skewed. */
async function boardCluster(seed = 1): Promise<{ cluster: Cluster; readers: Map<string, Client>; send: (dc: string, method: string, path: string, body?: unknown) => Promise<Record<string, unknown>> }> {
  // No DNS servers: readers here talk to their own datacenter's balancer.
  const cluster = multiDcCluster({ seed, readerRegions: [] });
  for (const app of appServersOf(SKEWED)) cluster.skew(app, { offset: SKEW_MS });
  const readers = new Map(DATACENTERS.map((dc) => [dc, cluster.client(`reader-in-${dc}`, { region: dc })]));
  // Straight to the reader's own datacenter's balancer: this step is about the data, not the routing.
  const send = async (dc: string, method: string, path: string, body?: unknown) => {
    const res = await readers.get(dc)!.fetch(`http://${balancerOf(dc)}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    expect(res.status, `${method} ${path} in ${dc} answered ${res.status}: ${JSON.stringify(answer)}`).toBe(200);
    return answer;
  };
  return { cluster, readers, send };
}

/** What each datacenter shows for a board, as "us-west: …, eu-west: …". */
async function everywhere(send: (dc: string, method: string, path: string) => Promise<Record<string, unknown>>, board: string, field: string): Promise<Map<string, unknown>> {
  const seen = new Map<string, unknown>();
  for (const dc of DATACENTERS) seen.set(dc, (await send(dc, 'GET', `/boards/${board}`))[field]);
  return seen;
}
const describe = (seen: Map<string, unknown>) => [...seen].map(([dc, v]) => `${dc} ${JSON.stringify(v)}`).join(', ');

test(`a write made after its writer saw another write wins everywhere, though the writer's clock runs ${-SKEW_MS} ms behind`, async () => {
  const { cluster, send } = await boardCluster();
  await send('us-west', 'PUT', '/boards/plans', { title: 'Plan A' });
  // ada in eu-west waits until she sees Plan A, then replaces it.
  let seenA = false;
  for (let waited = 0; waited < 2000 && !seenA; waited += 10) {
    seenA = (await send(SKEWED, 'GET', '/boards/plans')).title === 'Plan A';
    if (!seenA) await cluster.sleep(10);
  }
  expect(seenA, `"Plan A", written in us-west, did not reach ${SKEWED} within 2 s`).toBe(true);
  await send(SKEWED, 'PUT', '/boards/plans', { title: 'Plan B' });
  await cluster.sleep(SETTLE_MS);
  const seen = await everywhere(send, 'plans', 'title');
  const stale = [...seen].filter(([, t]) => t !== 'Plan B').map(([dc]) => dc);
  expect(stale, `ada in ${SKEWED} read "Plan A" and then wrote "Plan B", so hers is the later write, yet ${stale.join(' and ')} show${stale.length === 1 ? 's' : ''} another title (${describe(seen)}): ${SKEWED}'s clocks run ${-SKEW_MS} ms behind, so a wall-clock timestamp made her later write look older. Stamp each write later than anything its region has seen: a version, or a hybrid logical clock, Math.max(ctx.now(), last stamp seen + 1)`).toEqual([]);
});

test('concurrent writes to a title resolve the same way in every datacenter, whatever order they arrive in (3 seeds)', async () => {
  for (const seed of [1, 2, 3]) {
    const { cluster, send } = await boardCluster(seed);
    const random = seededRandom(seed);
    // Seed 1: all three at the same moment; then a few ms apart, in a seeded order.
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
    expect(new Set(seen.values()).size, `the three datacenters each changed the board's title at nearly the same moment (${delays.map((d, i) => `${DATACENTERS[i]} at +${d} ms`).join(', ')}, seed ${seed}), ${SKEWED} cut off for 3 s; ${SETTLE_MS / 1000} s after it healed, the datacenters disagree: ${describe(seen)}. Every replica must pick the same winner whatever order writes arrive in: compare stamps, and break a tie the same way everywhere (by region name)`).toBe(1);
  }
});

/** What every datacenter shows for the likes of `board`, against the `made` per region. */
async function expectAllCounted(send: (dc: string, method: string, path: string) => Promise<Record<string, unknown>>, made: Map<string, number>, situation: string, overCounted: string): Promise<void> {
  const total = [...made.values()].reduce((a, b) => a + b, 0);
  const seen = await everywhere(send, 'launch', 'likes');
  for (const [dc, shown] of seen) {
    const n = Number(shown);
    const why = n > total ? overCounted : `${total - n} were lost: a count shipped from one region overwrote likes made elsewhere, as last-writer-wins does to a counter`;
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
