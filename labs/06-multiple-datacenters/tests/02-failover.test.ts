import { expect, test } from 'vitest';
import { AWS_REGION_RTT, evidence, seededRandom, type Client, type Cluster } from '@scale-lab/kit';
import { DATACENTERS, READER_REGIONS, WARM_UP_MS, callsFrom, isCall, mostCommon, appServersOf, balancerOf, keepVisiting, killDatacenter, multiDcCluster, nearest, reviveDatacenter, roundTrip, share, storeOf, trackDatacenters, visit, type TimedVisit, type Visit } from './helpers.ts';

/** The promise of this step: readers of a failed datacenter are served elsewhere this long after it fails. */
const MOVED_WITHIN_MS = 10_000;
/** New readers, who have no answer cached, are sent elsewhere this long after it fails. */
const DETECTED_WITHIN_MS = 8000;
/** From then on, at least this share of their requests succeed. */
const SUCCESS_AFTER = 0.95;
const WATCH_MS = 16_000;
/** Readers whose nearest datacenter is eu-west. */
const READER_HOMES = ['eu-west', 'eu-central'];

/** Readers in eu-west and eu-central, and the datacenter they use now (eu-west, once step 1 passes): the one that will fail. */
async function readersOf(cluster: Cluster, tag: string): Promise<{ readers: Client[]; used: string }> {
  const readers = READER_HOMES.map((region) => cluster.client(`reader-${tag}-${region}`, { region }));
  const visits = await keepVisiting(cluster, readers, 1);
  return { readers, used: mostCommon(visits.map((v) => v.datacenter)) };
}

/** What the DNS servers asked each balancer for, and what they were answered, from now on. */
function recordChecks(cluster: Cluster, dc: string): { dc: string; paths: Set<string>; statuses: Set<number>; waiting(): number } {
  const paths = new Set<string>();
  const statuses = new Set<number>();
  let waiting = 0;
  cluster.metrics.on((event) => {
    if (!('from' in event) || !event.from.startsWith('dns-') || !('to' in event) || event.to !== balancerOf(dc)) return;
    if (event.type === 'sent') waiting++;
    if (event.type === 'failed') waiting--;
    if (event.type === 'answered') {
      waiting--;
      paths.add(event.path);
      statuses.add(event.status);
    }
  });
  return { dc, paths, statuses, waiting: () => waiting };
}

/**
 * After `what` failed at `failedAt`: at least 95 % of the readers' requests from 10 s later on
 * succeed; if not, the message says why, from where a brand-new reader is sent.
 */
async function expectMovedAway(cluster: Cluster, visits: TimedVisit[], failedAt: number, what: string, checks: ReturnType<typeof recordChecks>): Promise<void> {
  const down = checks.dc;
  const after = visits.filter((v) => v.at >= failedAt + MOVED_WITHIN_MS);
  const ok = after.filter((v) => v.status >= 200 && v.status < 300).length;
  if (ok >= SUCCESS_AFTER * after.length) return;
  const stuck = after.filter((v) => v.datacenter === down).length;
  const newcomer = cluster.client(`newcomer-${Math.round(cluster.clock.now())}`, { region: READER_HOMES[0] });
  const fresh = await visit(cluster, trackDatacenters(cluster), newcomer, '/boards/welcome');
  let why: string;
  if (fresh.datacenter === down) {
    if (checks.waiting() > 0) {
      why = `${checks.waiting()} checks of ${balancerOf(down)} are still waiting for an answer: a check without a timeout waits as long as a hung datacenter keeps it, and never counts as failed; give each check a timeout (ctx.timeout(500)) and count it as a failure`;
    } else if (checks.paths.size > 0 && [...checks.paths].every((p) => p.startsWith('/lb/'))) {
      why = `your health checks asked only the balancer (GET ${[...checks.paths].join(', ')}), which answers while every app server behind it is dead: check a path the app servers answer, through the balancer`;
    } else if ([...checks.statuses].some((s) => s >= 400 && s < 500)) {
      why = `${balancerOf(down)} answered your checks with ${[...checks.statuses].filter((s) => s >= 400 && s < 500).join(', ')}, and the DNS server still handed out ${down}: a 4xx answer is a failed check too (the app servers answer, but not with the page), only a 2xx answer within the timeout passes`;
    } else if ([...checks.statuses].some((s) => s >= 500)) {
      why = `${balancerOf(down)} answered your checks with ${[...checks.statuses].filter((s) => s >= 500).join(', ')}, and the DNS server still handed out ${down}: only a 2xx answer within the timeout is a passed check`;
    } else if (checks.statuses.has(200) && what.includes(storeOf(down))) {
      why = `${down}'s /health answered 200 while ${storeOf(down)} was down, so every real request failed: /health must check what a request needs, the region's store too`;
    } else {
      why = `the DNS server of ${READER_HOMES[0]} still answers ${balancerOf(down)}, ${((cluster.clock.now() - failedAt) / 1000).toFixed(0)} s after it failed: check every datacenter regularly, with a timeout, and stop handing out one that fails its checks`;
    }
  } else {
    why = `readers who had looked up www before the failure kept going to ${down} (${stuck} of those requests), while a new reader is sent to ${fresh.datacenter}: the TTL of your answers is too long, keep it to a few seconds`;
  }
  const readersThen = callsFrom([...new Set(visits.map((v) => v.reader)), newcomer.name], failedAt + MOVED_WITHIN_MS);
  evidence(`the requests of readers in ${READER_HOMES.join(' and ')} from ${MOVED_WITHIN_MS / 1000} s after the failure, a new reader's visit, and the DNS servers' checks of ${balancerOf(down)}`, (e) => readersThen(e) || (isCall(e) && e.from.startsWith('dns-') && e.to === balancerOf(down)));
  expect(ok, `${what}: only ${share(ok, after.length)} requests from readers in ${READER_HOMES.join(' and ')} succeeded from ${MOVED_WITHIN_MS / 1000} s after (at least ${SUCCESS_AFTER * 100} %): ${why}`).toBeGreaterThanOrEqual(SUCCESS_AFTER * after.length);
}

/** Late lookups: new readers look www up this often after the failure, up to LATE_UNTIL_MS, before detection is done. */
const LATE_EVERY_MS = 500;
const LATE_UNTIL_MS = 3000;

/**
 * Readers in eu-west and eu-central use their datacenter; 2 s later `fail` breaks part of it; they
 * must be moved. With `late`, new readers also look www up every half second in the first 3 s after
 * the failure, while the DNS server may still hand out the failed datacenter, and visit again 10 s
 * after it: whatever they were told, detection and TTL together must have run out by then.
 */
async function failAndExpectMoved(cluster: Cluster, tag: string, fail: (dc: string) => void, what: (dc: string) => string, late = false): Promise<void> {
  const { readers, used } = await readersOf(cluster, tag);
  const checks = recordChecks(cluster, used);
  let failedAt = 0;
  const where = trackDatacenters(cluster);
  const lateVisits: { after: number; first: Visit; then: Visit }[] = [];
  const lookLate = async (after: number) => {
    await cluster.sleep(after);
    const reader = cluster.client(`late-${tag}-${after}`, { region: READER_HOMES[1] });
    const first = await visit(cluster, where, reader, '/boards/welcome');
    await cluster.sleep(Math.max(0, failedAt + MOVED_WITHIN_MS + 100 - cluster.clock.now()));
    lateVisits.push({ after, first, then: await visit(cluster, where, reader, '/boards/welcome') });
  };
  const visits = await keepVisiting(cluster, readers, WATCH_MS, async () => {
    await cluster.sleep(2000);
    failedAt = cluster.clock.now();
    fail(used);
    if (late) await Promise.all(Array.from({ length: LATE_UNTIL_MS / LATE_EVERY_MS }, (_, i) => lookLate((i + 1) * LATE_EVERY_MS)));
  });
  await expectMovedAway(cluster, visits, failedAt, what(used), checks);
  const stuck = lateVisits.find((v) => v.first.datacenter === used && v.then.datacenter === used && (v.then.status < 200 || v.then.status >= 300));
  if (!stuck) return;
  evidence(`the two visits of a reader in ${READER_HOMES[1]} who looked www up ${stuck.after / 1000} s after ${used} failed`, (e) => isCall(e) && e.from === `late-${tag}-${stuck.after}`);
  expect.fail(`${what(used)}: a reader in ${READER_HOMES[1]} who looked www up ${stuck.after / 1000} s after the failure, before your DNS server had taken ${used} out, was told ${used}, and ${MOVED_WITHIN_MS / 1000} s after the failure was still sent there, with no answer: a reader keeps the answer for its TTL, so the time to detect a failure plus the TTL must stay within ${MOVED_WITHIN_MS / 1000} s; with checks every second, out after three, keep the TTL to about 5 s`);
}

/** With `down` out, a newcomer in each of `regions` is sent to the nearest datacenter that is up. */
async function expectNextNearest(cluster: Cluster, down: string, regions: string[]): Promise<void> {
  const where = trackDatacenters(cluster);
  const up = DATACENTERS.filter((dc) => dc !== down);
  const at = Math.round(cluster.clock.now());
  const visits = await cluster.run(() => Promise.all(regions.map((region) => visit(cluster, where, cluster.client(`newcomer-${at}-${region}`, { region }), '/boards/welcome'))));
  const wrong = regions.flatMap((region, i) => {
    const best = nearest(region, AWS_REGION_RTT, up);
    const went = visits[i]!.datacenter;
    if (went === best) return [];
    if (went === down || went === 'none') return [`readers in ${region} were still sent to ${down}`];
    return [`readers in ${region} were sent to ${went} (${roundTrip(region, went)} ms round trip) while ${best} (${roundTrip(region, best)} ms) is up and nearer`];
  });
  evidence(`the visits of new readers in every region with ${down} dark, and the datacenter each went to`, (e) => isCall(e) && e.from.startsWith(`newcomer-${at}-`));
  expect(wrong, `${down} had been dark for ${DETECTED_WITHIN_MS / 1000} s: ${wrong.join('; ')}. When a reader's nearest datacenter is out, send them to the nearest of those still up, by measured round trip: not the first one in the list, nor a backup fixed in advance`).toEqual([]);
}

test(`a datacenter goes dark: its readers are served elsewhere within ${MOVED_WITHIN_MS / 1000} s, whenever within a check interval it fails (3 seeds)`, async () => {
  for (const seed of [1, 2, 3]) {
    const cluster = multiDcCluster({ seed, readerRegions: READER_HOMES });
    await cluster.sleep(WARM_UP_MS + Math.floor(seededRandom(seed)() * 1000));
    await failAndExpectMoved(cluster, `a${seed}`, (dc) => killDatacenter(cluster, dc), (dc) => `${dc} went dark (seed ${seed})`, true);
  }
});

test('when us-west goes dark, a new reader in every region is sent to the nearest datacenter still up', async () => {
  // us-west's readers in ap-sydney have ap-southeast next (175 ms), not eu-west, the first one up in the list (310 ms).
  const cluster = multiDcCluster({ readerRegions: READER_REGIONS });
  await cluster.sleep(WARM_UP_MS);
  const down = 'us-west';
  killDatacenter(cluster, down);
  // New readers have no answer cached: detection alone must be done well within the 10 s.
  await cluster.sleep(DETECTED_WITHIN_MS);
  await expectNextNearest(cluster, down, READER_REGIONS);
});

test(`every app server of a datacenter dies while its balancer stays up: its readers are served elsewhere within ${MOVED_WITHIN_MS / 1000} s`, async () => {
  const cluster = multiDcCluster({ readerRegions: READER_HOMES });
  await cluster.sleep(WARM_UP_MS);
  await failAndExpectMoved(cluster, 'b', (dc) => appServersOf(dc).forEach((app) => cluster.kill(app)), (dc) => `${appServersOf(dc).join(' and ')} died while ${balancerOf(dc)} stayed up`);
});

test(`a datacenter's store dies: its readers are served elsewhere within ${MOVED_WITHIN_MS / 1000} s`, async () => {
  const cluster = multiDcCluster({ readerRegions: READER_HOMES });
  await cluster.sleep(WARM_UP_MS);
  await failAndExpectMoved(cluster, 'c', (dc) => cluster.kill(storeOf(dc)), (dc) => `${storeOf(dc)} died`);
});

test(`a datacenter's balancer hangs, taking connections and never answering: its readers are served elsewhere within ${MOVED_WITHIN_MS / 1000} s`, async () => {
  const cluster = multiDcCluster({ readerRegions: READER_HOMES });
  await cluster.sleep(WARM_UP_MS);
  await failAndExpectMoved(cluster, 'h', (dc) => cluster.hang(balancerOf(dc)), (dc) => `${balancerOf(dc)} hung`);
});

test(`a bad release: a datacenter's app servers answer 404 to everything; its readers are served elsewhere within ${MOVED_WITHIN_MS / 1000} s`, async () => {
  const cluster = multiDcCluster({ readerRegions: READER_HOMES });
  await cluster.sleep(WARM_UP_MS);
  await failAndExpectMoved(cluster, 'r', (dc) => appServersOf(dc).forEach((app) => cluster.fail(app, 404)), (dc) => `${appServersOf(dc).join(' and ')} answered 404 to every request after a bad release`);
});

const PAUSE_MS = 1500;
/** Pauses, this far apart: each costs a check or two, with good checks between them. */
const PAUSES = 3;
const PAUSE_EVERY_MS = 3000;

test(`${PAUSES} pauses of ${PAUSE_MS / 1000} s of a datacenter's app servers, ${PAUSE_EVERY_MS / 1000} s apart, move no reader`, async () => {
  const cluster = multiDcCluster({ readerRegions: READER_HOMES });
  await cluster.sleep(WARM_UP_MS);
  const { readers, used } = await readersOf(cluster, 'd');
  // Before each next pause, a new reader asks where to go: what the DNS server answers now.
  const where = trackDatacenters(cluster);
  const answers: string[] = [];
  const visits = await keepVisiting(cluster, readers, 1000 + PAUSES * PAUSE_EVERY_MS, async () => {
    await cluster.sleep(1000);
    for (let i = 0; i < PAUSES; i++) {
      for (const app of appServersOf(used)) cluster.hang(app);
      await cluster.sleep(PAUSE_MS);
      for (const app of appServersOf(used)) cluster.recover(app);
      await cluster.sleep(PAUSE_EVERY_MS - PAUSE_MS - 200);
      answers.push((await visit(cluster, where, cluster.client(`newcomer-d${i}`, { region: READER_HOMES[0] }), '/boards/welcome')).datacenter);
    }
  });
  const moved = visits.filter((v) => v.datacenter !== used);
  const firstOut = answers.findIndex((dc) => dc !== used);
  if (moved.length === 0 && firstOut < 0) return;
  // Taken out after the first pause: on one or two failed checks. Only after a later one: on failures added up across pauses.
  const why = firstOut <= 0
    ? 'one or two failed checks are not enough evidence; take a datacenter out only after several failed checks in a row (three at one a second)'
    : `the first pause moved nobody, pause ${firstOut + 1} did: your DNS server added up failed checks from separate pauses, with good checks between them; count failures in a row, and start again at zero after a good check`;
  const names = new Set(readers.map((r) => r.name));
  evidence(`the requests of readers in ${READER_HOMES.join(' and ')} sent elsewhere than ${used}, and the visits of new readers after each pause`, (e) => isCall(e) && ((names.has(e.from) && e.to.startsWith('lb-') && e.to !== balancerOf(used)) || e.from.startsWith('newcomer-d')));
  expect(moved.length + (firstOut < 0 ? 0 : 1), `${PAUSES} pauses of ${PAUSE_MS / 1000} s of ${appServersOf(used).join(' and ')} (long garbage collections), ${PAUSE_EVERY_MS / 1000} s apart, sent ${moved.length} requests of readers in ${READER_HOMES.join(' and ')} elsewhere, and new readers arriving after each pause were sent to ${answers.join(', then ')}: ${why}`).toBe(0);
});

test('a flapping datacenter stays out until it passes several checks in a row, then comes back', async () => {
  const cluster = multiDcCluster({ readerRegions: READER_HOMES });
  await cluster.sleep(WARM_UP_MS);
  const { readers, used: DOWN } = await readersOf(cluster, 'e');
  const DOWN_FOR = 4000;
  const UP_FOR = 3000;
  const FLAPS = 3;
  const startedAt = cluster.clock.now();
  const flapping = await keepVisiting(cluster, readers, FLAPS * (DOWN_FOR + UP_FOR), async () => {
    for (let i = 0; i < FLAPS; i++) {
      killDatacenter(cluster, DOWN);
      await cluster.sleep(DOWN_FOR);
      reviveDatacenter(cluster, DOWN);
      await cluster.sleep(UP_FOR);
    }
  });
  const after = flapping.filter((v) => v.at >= startedAt + MOVED_WITHIN_MS);
  const ok = after.filter((v) => v.status === 200).length;
  const sentBack = after.filter((v) => v.datacenter === DOWN).length;
  const everLeft = flapping.some((v) => v.datacenter !== DOWN && v.datacenter !== 'none');
  const why = !everLeft
    ? `every one of them still went to ${DOWN}: stop handing out a datacenter that fails its checks, and keep the TTL short`
    : `${sentBack} were sent back to ${DOWN} after it had been taken out: one good check is not enough to trust it again; bring a datacenter back only after several good checks in a row (five at one a second)`;
  evidence(`the requests of ${DOWN}'s readers from ${MOVED_WITHIN_MS / 1000} s after it began to flap, and the datacenter each went to`, callsFrom(readers.map((r) => r.name), startedAt + MOVED_WITHIN_MS));
  expect(ok, `${DOWN} flapped, down ${DOWN_FOR / 1000} s and up ${UP_FOR / 1000} s, ${FLAPS} times: only ${share(ok, after.length)} requests from its readers succeeded from ${MOVED_WITHIN_MS / 1000} s on (at least ${SUCCESS_AFTER * 100} %); ${why}`).toBeGreaterThanOrEqual(SUCCESS_AFTER * after.length);
  // Now it stays up: after enough good checks and a TTL, its readers come back to it.
  await cluster.sleep(12_000);
  const steadyFrom = cluster.clock.now();
  const steady = await keepVisiting(cluster, readers, 3000);
  const home = steady.filter((v) => v.datacenter === DOWN).length;
  evidence(`the requests of ${DOWN}'s readers once it stopped flapping, and the datacenter each went to`, callsFrom(readers.map((r) => r.name), steadyFrom));
  expect(home, `${DOWN} has been up for 12 s after it stopped flapping, yet only ${share(home, steady.length)} requests of its readers went back to it: a datacenter that passes its checks again must come back into the answers`).toBe(steady.length);
});
