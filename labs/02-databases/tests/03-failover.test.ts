import { expect, test } from 'vitest';
import type { Client, Cluster } from '@scale-lab/kit';
import { APP_SERVERS, DATABASES, databasesCluster, loggedIn, send } from './helpers.ts';

/** The promise of this step: writes work again within this long after the primary dies. */
const RESUME_WITHIN_MS = 10_000;
/** A pause of the primary this long is not a death: it must cause no failover. */
const SHORT_PAUSE_MS = 2000;
const DEPOSIT_EVERY_MS = 1000;
const [NEAR, FAR] = DATABASES.replicas as [string, string];

/** A cluster where one replica must acknowledge each commit, and ada, logged in. */
async function semiSyncCluster(): Promise<{ cluster: Cluster; ada: Client }> {
  const cluster = await databasesCluster({ sync: 1 });
  return { cluster, ada: await loggedIn(cluster, 'ada') };
}

/** ada deposits 1 every second for `ms`; returns how many were acknowledged and when the first and last succeeded. */
async function deposit(cluster: Cluster, ada: Client, ms: number): Promise<{ acknowledged: number; firstOk?: number }> {
  let acknowledged = 0;
  let firstOk: number | undefined;
  for (const end = cluster.clock.now() + ms; cluster.clock.now() < end;) {
    const started = cluster.clock.now();
    const res = await send(ada, 'POST', '/deposit', { amount: 1 }).catch(() => undefined);
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

test(`the primary dies: the replica with every acknowledged write is promoted, writes resume within ${RESUME_WITHIN_MS / 1000} s, none is lost`, async () => {
  // Twice: first the far replica is simply behind; then the near one, which has received everything, has also stopped applying for 3 s.
  for (const pausedNear of [false, true]) {
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
    cluster.kill(DATABASES.primary);
    const after = await deposit(cluster, ada, 12_000);
    acknowledged += after.acknowledged;
    const near = before.get(NEAR)!;
    const far = before.get(FAR)!;
    const setting = `${NEAR} had received position ${near.received} and applied ${near.applied}; ${FAR} had received ${far.received} and applied ${far.applied}`;

    expect(promoted.length, `db died and no replica was promoted in the next 12 s, so every write failed: the monitor must notice the primary is gone and promote a replica (${setting})`).toBeGreaterThan(0);
    if (promoted[0] === FAR) {
      const why = far.applied > near.applied
        ? `${FAR} had applied more but received less; a promoted replica first applies everything it received, so compare received, not applied`
        : 'promote the replica that has received the most of the old primary\'s log';
      expect(promoted[0], `the monitor promoted ${FAR}, and acknowledged writes only ${NEAR} had received were lost (${setting}): ${why}`).toBe(NEAR);
    }
    expect(promoted.length, `the monitor promoted ${promoted.length} times (${promoted.join(', ')}) after one death: once it has promoted a replica, it must watch the new primary, not keep failing over from the old one`).toBe(1);
    const waited = after.firstOk === undefined ? Infinity : after.firstOk - diedAt;
    expect(waited, `writes failed for ${Number.isFinite(waited) ? `${(waited / 1000).toFixed(1)} s` : 'the whole 12 s'} after db died (at most ${RESUME_WITHIN_MS / 1000} s): app servers must send writes to the primary the monitor recorded in kv (databases.primaryKey)`).toBeLessThanOrEqual(RESUME_WITHIN_MS);
    const balance = balanceOn(cluster, group.primary);
    expect(balance, `ada's deposits were acknowledged ${acknowledged} times, yet her balance on the new primary ${group.primary} is ${balance}: ${acknowledged - balance} acknowledged writes were lost`).toBeGreaterThanOrEqual(acknowledged);
  }
});

test(`a ${SHORT_PAUSE_MS / 1000}-second pause of the primary causes no failover`, async () => {
  const { cluster, ada } = await semiSyncCluster();
  const promoted = promotions(cluster);
  await deposit(cluster, ada, 1000);
  cluster.hang(DATABASES.primary);
  await cluster.sleep(SHORT_PAUSE_MS);
  cluster.recover(DATABASES.primary);
  const { acknowledged } = await deposit(cluster, ada, 6000);
  expect(promoted, `db stopped answering for ${SHORT_PAUSE_MS / 1000} s (a long garbage-collection pause, a busy disk) and the monitor promoted ${promoted.join(', ')}: failing over on the first missed check turns every hiccup into a failover; wait for several checks in a row to fail`).toEqual([]);
  expect(acknowledged, `after db recovered from its pause, only ${acknowledged} of 6 deposits in 6 s were acknowledged`).toBeGreaterThanOrEqual(5);
});

test('the old primary, revived after a failover, takes no writes', async () => {
  const { cluster, ada } = await semiSyncCluster();
  const group = cluster.replication(DATABASES.primary);
  await deposit(cluster, ada, 1000);
  cluster.kill(DATABASES.primary);
  await deposit(cluster, ada, 8000);
  expect(group.primary !== DATABASES.primary, 'db died and no replica was promoted within 8 s: the monitor must notice the primary is gone and promote a replica').toBe(true);
  cluster.revive(DATABASES.primary);
  await cluster.sleep(2000);
  const writesToOld: string[] = [];
  cluster.metrics.on((event) => {
    if (event.type === 'query' && event.node === DATABASES.primary && APP_SERVERS.includes(event.from) && !/^\s*select\b/i.test(event.sql)) writesToOld.push(event.from);
  });
  const { acknowledged } = await deposit(cluster, ada, 4000);
  expect(writesToOld.length, `db came back as it was, still calling itself a primary, and ${writesToOld.length} writes went to it from ${[...new Set(writesToOld)].join(', ')} although ${group.primary} is the primary now: those writes are lost to the group (split brain); app servers must write only to the primary the monitor recorded, never to one that merely says it is a primary`).toBe(0);
  expect(acknowledged, `after db came back, only ${acknowledged} of 4 deposits in 4 s were acknowledged`).toBeGreaterThanOrEqual(3);
});
