import { expect, test } from 'vitest';
import { evidence, type Client, type Cluster, type ClusterEvent } from '@scale-lab/kit';
import { APP_SERVERS, DATABASES, anyOf, calls, databasesCluster, isSelect, loggedIn, queries, send, type EventTest } from './helpers.ts';

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

/** The monitor's doings: its checks, what it asked db-admin and what it set in kv. */
const byMonitor = (e: ClusterEvent) => (e.type === 'query' || e.type === 'kv' || e.type === 'answered' || e.type === 'failed') && e.from === 'monitor';
/** Reads and writes of the primary's name in kv (databases.primaryKey), by the monitor or the app servers. */
const primaryInKv = (e: ClusterEvent) => e.type === 'kv' && e.key === DATABASES.primaryKey;
/** ada's deposits sent at `since` or later, as she saw them. */
const deposits = (since = 0): EventTest => calls((c) => c.from === 'ada' && c.path === '/deposit', since);

/**
 * The replicas promoted from now on; with, for evidence, the monitor's doings, ada's deposits and
 * lookups of the primary in kv (kept as events: a test over events would also mark them in the test's
 * other cluster).
 */
const watchFailover = (cluster: Cluster) => {
  const seen: string[] = [];
  const monitor: ClusterEvent[] = [];
  const deposited: ClusterEvent[] = [];
  const lookups: ClusterEvent[] = [];
  const isDeposit = deposits();
  cluster.metrics.on((event) => {
    if (event.type === 'promotion') seen.push(event.node);
    else if (byMonitor(event)) monitor.push(event);
    else if (isDeposit(event)) deposited.push(event);
    else if (primaryInKv(event)) lookups.push(event);
  });
  return { promoted: seen, monitor, deposited, lookups };
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
    const { promoted, monitor, deposited, lookups } = watchFailover(cluster);
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

    const diedAtCall = (e: ClusterEvent) => e.type !== 'answered' && e.type !== 'failed' ? e.at >= diedAt : e.start >= diedAt;
    evidence(`ada's deposits after db ${death}, and what the monitor did meanwhile (its checks, its calls to db-admin and kv)`, [...deposited, ...monitor].filter(diedAtCall));
    const hangs = pausedNear ? ': a check that waits for an answer as long as it takes never fails when the primary hangs; give each check a short timeout (500 ms) and count a timeout as a missed check' : '';
    expect(promoted.length, `db ${death} and no replica was promoted in the next 12 s, so every write failed: the monitor must notice the primary is gone and promote a replica (${setting})${hangs}`).toBeGreaterThan(0);
    if (promoted[0] === FAR) {
      const why = far.applied > near.applied
        ? `${FAR} had applied more but received less; a promoted replica first applies everything it received, so compare received, not applied`
        : `promote the replica that has received the most of the old primary's log, whichever it is (this time ${NEAR})`;
      evidence('what the monitor asked db-admin: the members and their positions, and the promotion', monitor.filter((e) => (e.type === 'answered' || e.type === 'failed') && e.to === 'db-admin'));
      expect(promoted[0], `the monitor promoted ${FAR}, and acknowledged writes only ${NEAR} had received were lost (${setting}): ${why}`).toBe(NEAR);
    }
    expect(promoted.length, `the monitor promoted ${promoted.length} times (${promoted.join(', ')}) after one death: once it has promoted a replica, it must watch the new primary, not keep failing over from the old one`).toBe(1);
    const waited = after.firstOk === undefined ? Infinity : after.firstOk - diedAt;
    evidence(`ada's deposits after db ${death}, and the primary's name in kv: the monitor setting it, the app servers reading it`, [...deposited, ...lookups, ...monitor.filter(primaryInKv)].filter(diedAtCall));
    expect(waited, `writes failed for ${Number.isFinite(waited) ? `${(waited / 1000).toFixed(1)} s` : 'the whole 12 s'} after db ${death} (at most ${RESUME_WITHIN_MS / 1000} s): app servers must send writes to the primary the monitor recorded in kv (databases.primaryKey)`).toBeLessThanOrEqual(RESUME_WITHIN_MS);
    const balance = balanceOn(cluster, group.primary);
    evidence(`ada's deposits in the run where db ${death}, and their answers (those answered 200 were acknowledged)`, deposited);
    expect(balance, `ada's deposits were acknowledged ${acknowledged} times, yet her balance on the new primary ${group.primary} is ${balance}: ${acknowledged - balance} acknowledged writes were lost`).toBeGreaterThanOrEqual(acknowledged);
  }
});

test(`a ${SHORT_PAUSE_MS / 1000}-second pause of the primary causes no failover, nor do two of them a few seconds apart`, async () => {
  const { cluster, ada } = await semiSyncCluster();
  const { promoted, monitor } = watchFailover(cluster);
  await deposit(cluster, ada, 1000);
  await cluster.sleep(OUT_OF_PHASE_MS);
  let acknowledged = 0;
  let recoveredAt = 0;
  for (const pause of [1, 2]) {
    cluster.hang(DATABASES.primary);
    await cluster.sleep(SHORT_PAUSE_MS);
    cluster.recover(DATABASES.primary);
    recoveredAt = cluster.clock.now();
    acknowledged = (await deposit(cluster, ada, BETWEEN_PAUSES_MS)).acknowledged;
    await cluster.sleep(OUT_OF_PHASE_MS);
    if (promoted.length > 0) {
      const why = pause === 1
        ? `failing over on the first missed check, or the second, turns every hiccup into a failover; wait for several checks in a row to fail (three at one a second: a pause of ${SHORT_PAUSE_MS / 1000} s can make two miss)`
        : 'failed checks must be counted in a row: a check that succeeds starts the count again, or hiccups hours apart add up to a failover';
      evidence(`the monitor's checks of db and what it did, through ${pause === 1 ? 'the pause' : 'both pauses'}`, monitor);
      const again = pause === 2 ? `, answered normally for ${(BETWEEN_PAUSES_MS + OUT_OF_PHASE_MS) / 1000} s, then paused again for ${SHORT_PAUSE_MS / 1000} s` : '';
      expect(promoted, `db stopped answering for ${SHORT_PAUSE_MS / 1000} s (a long garbage-collection pause, a busy disk)${again}, and the monitor promoted ${promoted.join(', ')}: ${why}`).toEqual([]);
    }
  }
  evidence("ada's deposits after db's second pause, and their answers", deposits(recoveredAt));
  expect(acknowledged, `after db recovered from its second pause, only ${acknowledged} of ${BETWEEN_PAUSES_MS / 1000} deposits in ${BETWEEN_PAUSES_MS / 1000} s were acknowledged`).toBeGreaterThanOrEqual(BETWEEN_PAUSES_MS / DEPOSIT_EVERY_MS - 1);
});

test('the old primary, revived after a failover, takes no writes, even from app servers that were idle while it was down', async () => {
  const { cluster, ada } = await semiSyncCluster();
  const group = cluster.replication(DATABASES.primary);
  // Every app server takes a request (ada's login, then two deposits, in turn); then, while db is down,
  // all of ada's deposits reach app-1, and after it comes back, app-1 takes the first one again.
  await deposit(cluster, ada, 2000);
  const diedAt = cluster.clock.now();
  cluster.kill(DATABASES.primary);
  await deposit(cluster, ada, 8000, APP_SERVERS[0]);
  evidence("ada's deposits after db died, and what the monitor did meanwhile (its checks, its calls to db-admin and kv)", anyOf(deposits(diedAt), byMonitor));
  expect(group.primary !== DATABASES.primary, 'db died and no replica was promoted within 8 s: the monitor must notice the primary is gone and promote a replica').toBe(true);
  cluster.revive(DATABASES.primary);
  await cluster.sleep(2000);
  const writesToOld: string[] = [];
  const writesToNew = new Set<string>();
  const back = cluster.clock.now();
  cluster.metrics.on((event) => {
    if (event.type !== 'query' || !APP_SERVERS.includes(event.from) || isSelect(event.sql)) return;
    if (event.node === DATABASES.primary) writesToOld.push(event.from);
    else if (event.node === group.primary) writesToNew.add(event.from);
  });
  const { acknowledged } = await deposit(cluster, ada, 4000);
  const writesSince = queries((q) => APP_SERVERS.includes(q.from) && !isSelect(q.sql) && (q.node === DATABASES.primary || q.node === group.primary), back);
  const idle = APP_SERVERS.slice(1);
  evidence(`the writes app servers sent after db came back, to db or to ${group.primary}`, writesSince);
  if (writesToOld.length > 0 && writesToNew.has(APP_SERVERS[0]!) && writesToOld.every((server) => idle.includes(server))) {
    expect.fail(`db came back as it was, still calling itself a primary, and ${writesToOld.length} writes went to it from ${[...new Set(writesToOld)].join(', ')}, which got no request while db was down, although ${group.primary} is the primary now: an app server that keeps the primary's name in memory, and asks kv again only when a write fails, never notices a failover it slept through. Read databases.primaryKey from kv on every request`);
  }
  expect(writesToOld.length, `db came back as it was, still calling itself a primary, and ${writesToOld.length} writes went to it from ${[...new Set(writesToOld)].join(', ')} although ${group.primary} is the primary now: those writes are lost to the group (split brain); app servers must write only to the primary the monitor recorded, never to one that merely says it is a primary`).toBe(0);
  evidence("ada's deposits after db came back, and the app servers' lookups of the primary in kv", anyOf(deposits(back), (e) => primaryInKv(e) && e.at >= back));
  expect(acknowledged, `after db came back, only ${acknowledged} of 4 deposits in 4 s were acknowledged`).toBeGreaterThanOrEqual(3);
});
