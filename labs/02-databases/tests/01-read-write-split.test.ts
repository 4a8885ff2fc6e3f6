import { expect, test } from 'vitest';
import { DATABASES, databasesCluster, loggedIn, recordReads, send, share } from './helpers.ts';

/** The promise of this step: the primary serves at most this share of plain reads. */
const MAX_PRIMARY_SHARE = 0.1;
const USERS = ['ada', 'grace', 'linus', 'alan', 'barbara', 'edsger'];

test('plain reads (profiles, top balances) are spread over the replicas; the primary serves at most 10 %', async () => {
  const cluster = await databasesCluster();
  const visitor = await loggedIn(cluster, USERS[0]!);
  for (const user of USERS.slice(1)) await loggedIn(cluster, user);
  await cluster.sleep(1000);
  const reads = recordReads(cluster);
  const total = 300;
  for (let i = 0; i < total; i++) {
    const res = i % 3 === 2 ? await send(visitor, 'GET', '/top') : await send(visitor, 'GET', `/accounts/${USERS[i % USERS.length]}`);
    expect(res.status, `GET request ${i + 1} answered ${res.status}: ${JSON.stringify(res.body)}`).toBe(200);
  }
  const selects = reads.reads.length;
  const onPrimary = reads.count(DATABASES.primary);
  if (onPrimary > selects * MAX_PRIMARY_SHARE) {
    const why = onPrimary >= selects * 0.9
      ? 'every plain read went to the primary while both replicas sat idle; send plain reads to the replicas and keep the primary for writes'
      : 'the primary takes its turn with the replicas, so it still serves a share of every read; keep it out of the rotation for plain reads';
    expect(onPrimary, `the primary served ${share(onPrimary, selects)} SELECTs for GET /accounts/… and GET /top (at most ${MAX_PRIMARY_SHARE * 100} % allowed): ${why}`).toBeLessThanOrEqual(selects * MAX_PRIMARY_SHARE);
  }
  for (const replica of DATABASES.replicas) {
    const served = reads.count(replica);
    expect(served, `${replica} served ${share(served, selects)} plain reads: spread them over every replica, not one, so each carries its part`).toBeGreaterThanOrEqual(selects * 0.3);
  }
});

test('a transfer reads inside its transaction, on the primary', async () => {
  const cluster = await databasesCluster();
  const ada = await loggedIn(cluster, 'ada');
  await loggedIn(cluster, 'grace');
  expect((await send(ada, 'POST', '/deposit', { amount: 100 })).status, 'POST /deposit failed').toBe(200);
  const reads = recordReads(cluster);
  const first = await send(ada, 'POST', '/transfer', { to: 'grace', amount: 80 });
  const second = await send(ada, 'POST', '/transfer', { to: 'grace', amount: 80 });
  const onReplicas = reads.reads.filter((r) => r.node !== DATABASES.primary);
  expect(onReplicas.length, `two POST /transfer sent ${share(onReplicas.length, reads.reads.length)} SELECTs to ${[...new Set(onReplicas.map((r) => r.node))].join(' and ')}: a SELECT inside a transaction must run in that transaction, on the primary (tx.query), or it reads outside it and may be stale`).toBe(0);
  expect(first.status, `ada had 100 and transferred 80 to grace: the transfer answered ${first.status} ${JSON.stringify(first.body)}`).toBe(200);
  expect(second.status, `ada had 20 left, yet a second transfer of 80 answered ${second.status}: it must be refused with 409`).toBe(409);
});

test('a balance check before a debit reads the primary: a withdrawal right after another, or after a deposit, sees it', async () => {
  const cluster = await databasesCluster();
  const ada = await loggedIn(cluster, 'ada');
  expect((await send(ada, 'POST', '/deposit', { amount: 100 })).status, 'POST /deposit failed').toBe(200);
  await cluster.sleep(1000);
  const reads = recordReads(cluster);
  const first = await send(ada, 'POST', '/withdraw', { amount: 80 });
  const second = await send(ada, 'POST', '/withdraw', { amount: 80 });
  const balance = () => cluster.database(DATABASES.primary).query<{ balance: number }>("SELECT balance FROM accounts WHERE user = 'ada'")[0]!.balance;
  expect(balance(), `overdraft: ada had 100, withdrew 80, then 80 again, and her balance is now ${balance()}; the balance check read a replica that had not yet seen the first withdrawal`).toBeGreaterThanOrEqual(0);
  expect(first.status, `ada had 100 and withdrew 80: POST /withdraw answered ${first.status} ${JSON.stringify(first.body)}`).toBe(200);
  expect(second.status, `ada had 20 left, yet a second withdrawal of 80 answered ${second.status}: it must be refused with 409`).toBe(409);

  expect((await send(ada, 'POST', '/deposit', { amount: 100 })).status, 'POST /deposit failed').toBe(200);
  const third = await send(ada, 'POST', '/withdraw', { amount: 110 });
  expect(third.status, `right after depositing 100 (balance 120), ada's withdrawal of 110 was refused (${third.status} ${JSON.stringify(third.body)}): the balance check read a replica that had not yet applied the deposit`).toBe(200);
  const onReplicas = reads.reads.filter((r) => r.node !== DATABASES.primary);
  expect(onReplicas.length, `the balance check before a debit read a replica (${share(onReplicas.length, reads.reads.length)} SELECTs went to ${[...new Set(onReplicas.map((r) => r.node))].join(' and ')}): a replica trails the primary, so a check that must not be stale reads the primary`).toBe(0);
});
