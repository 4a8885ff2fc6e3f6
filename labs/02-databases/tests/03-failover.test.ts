import { expect, test } from 'vitest';
import type { Client, Cluster } from '@scale-lab/kit';
import { APP_SERVERS, DATABASES, databasesCluster, loggedIn, send } from './helpers.ts';

/** The promise of this step: writes work again within this long after the primary dies. */
const RESUME_WITHIN_MS = 10_000;
/** A pause of the primary this long is not a death: it must cause no failover. */
const SHORT_PAUSE_MS = 2000;
const DEPOSIT_EVERY_MS = 1000;
/** A deposit with no answer within this long counts as failed: ada gives up and sends the next one. */
const DEPOSIT_PATIENCE_MS = 2000;
/**
 * Between the two short pauses, the primary answers for 3.5 s: they start 5.5 s apart, half a second
 * apart against a check every second, so one of them spans two checks, whatever the monitor's phase.
 */
const BETWEEN_PAUSES_MS = 3000;
const OUT_OF_PHASE_MS = 500;

/** A cluster where one replica must acknowledge each commit, and ada, logged in. */
async function semiSyncCluster(): Promise<{ cluster: Cluster; ada: Client }> {
  const cluster = await databasesCluster({ sync: 1 });
  return { cluster, ada: await loggedIn(cluster, 'ada') };
}

/** ada's deposit of 1 sent straight to `server`, past the balancer, with her session cookie. */
async function depositOn(ada: Client, server: string): Promise<{ status: number }> {
  const res = await ada.fetch(`http://${server}/deposit`, { method: 'POST', body: JSON.stringify({ amount: 1 }), headers: { cookie: ada.cookies.header('http://lb/') ?? '' } });
  await res.body?.cancel();
  return res;
}

/**
 * ada deposits 1 every second for `ms`, through the balancer or, given `server`, on that app server
 * alone; returns how many were acknowledged and when the first succeeded.
 */
async function deposit(cluster: Cluster, ada: Client, ms: number, server?: string): Promise<{ acknowledged: number; firstOk?: number }> {
  let acknowledged = 0;
  let firstOk: number | undefined;
  for (const end = cluster.clock.now() + ms; cluster.clock.now() < end;) {
    const started = cluster.clock.now();
    const sent = server === undefined ? send(ada, 'POST', '/deposit', { amount: 1 }) : depositOn(ada, server);
    const res = await Promise.race([sent.catch(() => undefined), cluster.sleep(DEPOSIT_PATIENCE_MS).then(() => undefined)]);
    if (res?.status === 200) {
      acknowledged++;
      firstOk ??= cluster.clock.now();
    }
    await cluster.sleep(Math.max(0, DEPOSIT_EVERY_MS - (cluster.clock.now() - started)));
  }
  return { acknowledged, firstOk };
}

const promotions = (cluster: Cluster) => {
  const seen: string[] = [];
  cluster.metrics.on((event) => {
    if (event.type === 'promotion') seen.push(event.node);
  });
  return seen;
};

const balanceOn = (cluster: Cluster, node: string) => cluster.database(node).query<{ balance: number }>("SELECT balance FROM accounts WHERE user = 'ada'")[0]?.balance ?? 0;

test(`the primary dies or hangs: the replica with every acknowledged write is promoted, writes resume within ${RESUME_WITHIN_MS / 1000} s, none is lost`, async () => {
  // Twice: first the primary dies and the far replica (this time db-replica-1) is simply behind; then the
  // primary hangs for good (it accepts connections and answers nothing), and the near replica, which has
  // received everything, has also stopped applying for 3 s.
  for (const pausedNear of [false, true]) {
    const [NEAR, FAR] = (pausedNear ? DATABASES.replicas : [...DATABASES.replicas].reverse()) as [string, string];
    const death = pausedNear ? 'hung (accepting connections, answering nothing)' : 'died';
    const { cluster, ada } = await semiSyncCluster();
    const group = cluster.replication(DATABASES.primary);
    const promoted = promotions(cluster);
    cluster.link(DATABASES.primary, FAR, { latency: 1500 });
    let { acknowledged } = await deposit(cluster, ada, pausedNear ? 1000 : 3000);
    if (pausedNear) {
      group.pause(NEAR);
      acknowledged += (await deposit(cluster, ada, 3000)).acknowledged;
    }
    const before = new Map(group.status().map((s) => [s.node, s]));
    const diedAt = cluster.clock.now();
    if (pausedNear) cluster.hang(DATABASES.primary);
    else cluster.kill(DATABASES.primary);
    const after = await deposit(cluster, ada, 12_000);
    acknowledged += after.acknowledged;
    const near = before.get(NEAR)!;
    const far = before.get(FAR)!;
    const setting = `${NEAR} had received position ${near.received} and applied ${near.applied}; ${FAR} had received ${far.received} and applied ${far.applied}`;

    const hangs = pausedNear ? ': a check that waits for an answer as long as it takes never fails when the primary hangs; give each check a short timeout (500 ms) and count a timeout as a missed check' : '';
    expect(promoted.length, `db ${death} and no replica was promoted in the next 12 s, so every write failed: the monitor must notice the primary is gone and promote a replica (${setting})${hangs}`).toBeGreaterThan(0);
    if (promoted[0] === FAR) {
      const why = far.applied > near.applied
        ? `${FAR} had applied more but received less; a promoted replica first applies everything it received, so compare received, not applied`
        : `promote the replica that has received the most of the old primary's log, whichever it is (this time ${NEAR})`;
      expect(promoted[0], `the monitor promoted ${FAR}, and acknowledged writes only ${NEAR} had received were lost (${setting}): ${why}`).toBe(NEAR);
    }
    expect(promoted.length, `the monitor promoted ${promoted.length} times (${promoted.join(', ')}) after one death: once it has promoted a replica, it must watch the new primary, not keep failing over from the old one`).toBe(1);
    const waited = after.firstOk === undefined ? Infinity : after.firstOk - diedAt;
    expect(waited, `writes failed for ${Number.isFinite(waited) ? `${(waited / 1000).toFixed(1)} s` : 'the whole 12 s'} after db ${death} (at most ${RESUME_WITHIN_MS / 1000} s): app servers must send writes to the primary the monitor recorded in kv (databases.primaryKey)`).toBeLessThanOrEqual(RESUME_WITHIN_MS);
    const balance = balanceOn(cluster, group.primary);
    expect(balance, `ada's deposits were acknowledged ${acknowledged} times, yet her balance on the new primary ${group.primary} is ${balance}: ${acknowledged - balance} acknowledged writes were lost`).toBeGreaterThanOrEqual(acknowledged);
  }
});

test(`a ${SHORT_PAUSE_MS / 1000}-second pause of the primary causes no failover, nor do two of them a few seconds apart`, async () => {
  const { cluster, ada } = await semiSyncCluster();
  const promoted = promotions(cluster);
  await deposit(cluster, ada, 1000);
  await cluster.sleep(OUT_OF_PHASE_MS);
  let acknowledged = 0;
  for (const pause of [1, 2]) {
    cluster.hang(DATABASES.primary);
    await cluster.sleep(SHORT_PAUSE_MS);
    cluster.recover(DATABASES.primary);
    acknowledged = (await deposit(cluster, ada, BETWEEN_PAUSES_MS)).acknowledged;
    await cluster.sleep(OUT_OF_PHASE_MS);
    if (promoted.length > 0) {
      const why = pause === 1
        ? `failing over on the first missed check, or the second, turns every hiccup into a failover; wait for several checks in a row to fail (three at one a second: a pause of ${SHORT_PAUSE_MS / 1000} s can make two miss)`
        : 'failed checks must be counted in a row: a check that succeeds starts the count again, or hiccups hours apart add up to a failover';
      const again = pause === 2 ? `, answered normally for ${(BETWEEN_PAUSES_MS + OUT_OF_PHASE_MS) / 1000} s, then paused again for ${SHORT_PAUSE_MS / 1000} s` : '';
      expect(promoted, `db stopped answering for ${SHORT_PAUSE_MS / 1000} s (a long garbage-collection pause, a busy disk)${again}, and the monitor promoted ${promoted.join(', ')}: ${why}`).toEqual([]);
    }
  }
  expect(acknowledged, `after db recovered from its second pause, only ${acknowledged} of ${BETWEEN_PAUSES_MS / 1000} deposits in ${BETWEEN_PAUSES_MS / 1000} s were acknowledged`).toBeGreaterThanOrEqual(BETWEEN_PAUSES_MS / DEPOSIT_EVERY_MS - 1);
});

test('the old primary, revived after a failover, takes no writes, even from app servers that were idle while it was down', async () => {
  const { cluster, ada } = await semiSyncCluster();
  const group = cluster.replication(DATABASES.primary);
  // Every app server takes a request (ada's login, then two deposits, in turn); then, while db is down,
  // all of ada's deposits reach app-1, and after it comes back, app-1 takes the first one again.
  await deposit(cluster, ada, 2000);
  cluster.kill(DATABASES.primary);
  await deposit(cluster, ada, 8000, APP_SERVERS[0]);
  expect(group.primary !== DATABASES.primary, 'db died and no replica was promoted within 8 s: the monitor must notice the primary is gone and promote a replica').toBe(true);
  cluster.revive(DATABASES.primary);
  await cluster.sleep(2000);
  const writesToOld: string[] = [];
  const writesToNew = new Set<string>();
  cluster.metrics.on((event) => {
    if (event.type !== 'query' || !APP_SERVERS.includes(event.from) || /^\s*select\b/i.test(event.sql)) return;
    if (event.node === DATABASES.primary) writesToOld.push(event.from);
    else if (event.node === group.primary) writesToNew.add(event.from);
  });
  const { acknowledged } = await deposit(cluster, ada, 4000);
  const idle = APP_SERVERS.slice(1);
  if (writesToOld.length > 0 && writesToNew.has(APP_SERVERS[0]!) && writesToOld.every((server) => idle.includes(server))) {
    expect.fail(`db came back as it was, still calling itself a primary, and ${writesToOld.length} writes went to it from ${[...new Set(writesToOld)].join(', ')}, which got no request while db was down, although ${group.primary} is the primary now: an app server that keeps the primary's name in memory, and asks kv again only when a write fails, never notices a failover it slept through. Read databases.primaryKey from kv on every request`);
  }
  expect(writesToOld.length, `db came back as it was, still calling itself a primary, and ${writesToOld.length} writes went to it from ${[...new Set(writesToOld)].join(', ')} although ${group.primary} is the primary now: those writes are lost to the group (split brain); app servers must write only to the primary the monitor recorded, never to one that merely says it is a primary`).toBe(0);
  expect(acknowledged, `after db came back, only ${acknowledged} of 4 deposits in 4 s were acknowledged`).toBeGreaterThanOrEqual(3);
});
