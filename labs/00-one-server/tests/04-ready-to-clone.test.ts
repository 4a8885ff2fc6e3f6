import { expect, test } from 'vitest';
import { evidence, type Cluster, type ClusterEvent } from '@scale-lab/kit';
import { CLONES, onReportBuild } from '../starter/cluster.ts';
import { clonesCluster } from './helpers.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const LIMIT = 10;
/** How late day 1's report may go out after its builder died: a lease a little longer than the job, and the next check. */
const LATE_MS = 60 * 60 * 1000;

/** Sends `n` GET /api/quote with API key `key`, round robin over the clones from `first`; returns the statuses. */
async function quotes(cluster: Cluster, key: string, n: number, first = 0): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const clone = CLONES[(first + i) % CLONES.length]!;
    statuses.push((await cluster.fetch(`http://${clone}/api/quote`, { headers: { 'x-api-key': key } })).status);
    await cluster.sleep(100);
  }
  return statuses;
}

const allowed = (statuses: number[]) => statuses.filter((s) => s === 200).length;

/** The quote calls made from `since` on, and the store commands they sent: what a rate-limit assertion counts. */
const quotesSince = (since: number) => (e: ClusterEvent) => e.at >= since && (e.type === 'kv' || (e.type === 'request' && e.path === '/api/quote'));

test(`the rate limit (${LIMIT} a minute per API key) holds across three clones and their restarts, and resets each minute`, async () => {
  const cluster = clonesCluster();
  // Start just after a minute begins, so the 30 calls fall in one minute however the minutes are counted.
  await cluster.sleep(60_000 - (cluster.clock.now() % 60_000) + 1_000);
  let since = cluster.clock.now();
  const first = await quotes(cluster, 'key-a', 30);
  evidence('the 30 calls with key-a across the three clones, and the store commands they sent', quotesSince(since));
  const why = allowed(first) === LIMIT + 1
    ? `one call too many: the count INCR answers includes the call being made, so the 11th call sees 11; refuse when the count is over ${LIMIT} (count > ${LIMIT}), not over ${LIMIT + 1}`
    : allowed(first) < LIMIT
      ? `too few calls allowed: the count INCR answers includes the call being made, so the 10th call sees 10 and is allowed; refuse only when the count is over ${LIMIT}`
      : `each clone counts for itself, so the limit is ${LIMIT} × 3. Count in the shared store (ctx.kv.incr) so the clones count together`;
  expect(allowed(first), `30 calls with one API key, spread over app-1, app-2 and app-3 within a minute, got ${allowed(first)} answers of 200 where the limit is ${LIMIT}: ${why}`).toBe(LIMIT);
  for (const clone of CLONES) cluster.restart(clone);
  since = cluster.clock.now();
  const afterRestart = await quotes(cluster, 'key-a', 6, 1);
  evidence('the 6 calls with key-a after every clone restarted, and the store commands they sent', quotesSince(since));
  expect(allowed(afterRestart), `after every clone restarted within the same minute, ${allowed(afterRestart)} of 6 more calls with the exhausted key got 200: the count was lost with the processes' memory; keep it in ctx.kv`).toBe(0);
  since = cluster.clock.now();
  const other = await quotes(cluster, 'key-b', 12, 2);
  evidence('the 12 calls with key-b, and the store commands they sent', quotesSince(since));
  expect(allowed(other), `another API key got ${allowed(other)} of 12 calls allowed within the same minute, where its own limit is ${LIMIT}: count per key`).toBe(LIMIT);
  // A burst: 30 calls with a third key at the same moment, ten at each clone.
  since = cluster.clock.now();
  const burst = await cluster.run(() => Promise.all(Array.from({ length: 30 }, (_, i) => cluster.fetch(`http://${CLONES[i % CLONES.length]}/api/quote`, { headers: { 'x-api-key': 'key-c' } }).then((r) => r.status))));
  evidence('the 30 calls with key-c at the same moment, and the store commands they sent', quotesSince(since));
  expect(allowed(burst), `30 calls with key-c arrived at the same moment, 10 at each clone, and ${allowed(burst)} got 200 where the limit is ${LIMIT}: each call read the count, then wrote it back one higher, so calls at the same moment all read the same count. Count with one atomic command, INCR, whose answer is the new count`).toBe(LIMIT);
  await cluster.sleep(61_000);
  since = cluster.clock.now();
  const nextMinute = await quotes(cluster, 'key-a', 12);
  evidence('the 12 calls with key-a a minute later, and the store commands they sent', quotesSince(since));
  expect(allowed(nextMinute), `a minute later, ${allowed(nextMinute)} of 12 calls with key-a got 200, where a new minute allows ${LIMIT}: the count never resets; give each minute's counter an expiry (or a key of its own that expires)`).toBe(LIMIT);
  // A client that keeps calling, once every 50 s: each new minute must let it in again.
  since = cluster.clock.now();
  const steady: number[] = [];
  for (let i = 0; i < 4; i++) {
    await cluster.sleep(50_000);
    steady.push(...(await quotes(cluster, 'key-a', 1, i)));
  }
  evidence('the calls with key-a once every 50 s, and the store commands they sent', quotesSince(since));
  expect(allowed(steady), `key-a, having used its ${LIMIT} calls, then called once every 50 s for over 3 minutes, and none of those calls got 200: every call pushed its counter's expiry back, so a key that keeps calling never gets a new minute. Set the expiry once, when the counter is created (count === 1), or keep a counter per minute`).toBeGreaterThan(0);
});

test('the daily report goes out exactly once a day, with three clones that restart, even when the one building it dies', async () => {
  const cluster = clonesCluster();
  const sent = new Map<number, number>();
  cluster.metrics.on((e) => {
    const day = e.type === 'request' && e.node === 'mailer' ? /^\/reports\/(\d+)$/.exec(e.path)?.[1] : undefined;
    if (day !== undefined) sent.set(Number(day), (sent.get(Number(day)) ?? 0) + 1);
  });
  // Day 1: whoever starts building the report is restarted 2 s into its 5 s build (so is every other clone).
  let struck = false;
  const builds = new Map<number, number[]>();
  const sentAt = new Map<number, number>();
  cluster.metrics.on((e) => {
    const day = e.type === 'request' && e.node === 'mailer' ? /^\/reports\/(\d+)$/.exec(e.path)?.[1] : undefined;
    if (day !== undefined && !sentAt.has(Number(day))) sentAt.set(Number(day), e.at);
  });
  onReportBuild(cluster, (day) => {
    builds.set(day, [...(builds.get(day) ?? []), cluster.clock.now()]);
    if (day !== 1 || struck) return;
    struck = true;
    cluster.clock.setTimeout(() => CLONES.forEach((clone) => cluster.restart(clone)), 2_000);
  });
  // Day 0: a deploy restarts app-2 4 s after start, so its checks come 4 s after the others'.
  await cluster.sleep(4_000);
  cluster.restart('app-2');
  // Then clones restart now and then, as deploys do.
  for (const [at, clone] of [[3, 'app-2'], [7, 'app-1'], [15, 'app-3'], [20, 'app-2']] as const) {
    await cluster.sleep(at * 60 * 60 * 1000 - cluster.clock.now());
    cluster.restart(clone);
  }
  await cluster.sleep(2 * DAY_MS - cluster.clock.now());
  const lingering = cluster.store('kv').keys('*').filter((k) => cluster.store('kv').ttl(k) === -1);
  for (const day of [0, 1]) {
    const times = sent.get(day) ?? 0;
    const started = builds.get(day) ?? [];
    const gap = started.length > 1 ? started[1]! - started[0]! : Infinity;
    const why = times > 1 && gap === 0
      ? 'two clones started building it at the same moment: nothing in the shared store kept the second out. Claim the day there with SET NX so only one clone runs it, and keep a "sent" mark for the day there too'
      : times > 1 && gap < 5_000
      ? `a second clone started building it ${Math.round((started[1]! - started[0]!) / 1000)} s after the first, while the first was still building (it takes 5 s): the first clone's claim had already expired. Make the lease longer than the job takes, in the unit the option expects (px is ms, ex is seconds)`
      : times > 1
      ? 'whenever a claim or a flag is gone (kept in one process, wiped by a restart, or expired), the next check sends the report again; claim the day in the shared store with SET NX so only one clone runs it, and keep a "sent" mark for the day there too'
      : day === 1
        ? `the clone building it was restarted mid-build, and nobody took over${lingering.length > 0 ? `: the store still holds ${lingering.map((k) => `"${k}"`).join(', ')} with no expiry, a lock without expiry that its dead owner will never release` : ''}; claim the day with an expiry (a lease), so another clone can take over when the owner dies`
        : 'check every few minutes whether today\'s report has gone out, and send it if not';
    evidence(`the report of day ${day} sent to the mailer, and the clones' restarts that day`, (e) => (e.type === 'request' && e.node === 'mailer' && e.path === `/reports/${day}`) || (e.type === 'node' && e.at >= day * DAY_MS && e.at < (day + 1) * DAY_MS));
    expect(times, `the report of day ${day} was sent ${times} times, where it must go out exactly once: ${why}`).toBe(1);
  }
  // The clone that died held day 1's claim: a lease a little longer than the job lets another take over within minutes.
  const late = (sentAt.get(1) ?? Infinity) - DAY_MS;
  evidence("day 1's report sent to the mailer, and the restart of the clone building it", (e) => (e.type === 'request' && e.node === 'mailer' && e.path === '/reports/1') || (e.type === 'node' && e.at >= DAY_MS && e.at < 2 * DAY_MS));
  expect(late, `the report of day 1 went out ${(late / 3_600_000).toFixed(1)} hours after the day began: the clone building it died 2 s in, and its claim kept every other clone out for that long. A lease only needs to outlast the job (5 s of building): a minute is plenty, and px counts ms, ex seconds`).toBeLessThanOrEqual(LATE_MS);
});
