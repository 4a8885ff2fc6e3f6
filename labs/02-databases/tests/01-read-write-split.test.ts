import { expect, test } from 'vitest';
import { evidence, type Client, type Cluster } from '@scale-lab/kit';
import { MAX_CONNECTIONS } from '../starter/cluster.ts';
import { DATABASES, among, anyOf, calls, databasesCluster, loggedIn, recordReads, send, share, type Answer } from './helpers.ts';

/** The promise of this step: the primary serves at most this share of plain reads. */
const MAX_PRIMARY_SHARE = 0.1;
/** Each replica serves at least this share of them: in turn, each serves half. */
const MIN_REPLICA_SHARE = 0.4;
const USERS = ['ada', 'grace', 'linus', 'alan', 'barbara', 'edsger'];

test('plain reads (profiles, top balances) are spread over the replicas; the primary serves at most 10 %', async () => {
  const cluster = await databasesCluster();
  const visitor = await loggedIn(cluster, USERS[0]!);
  for (const user of USERS.slice(1)) await loggedIn(cluster, user);
  await cluster.sleep(1000);
  const reads = recordReads(cluster);
  const total = 90;
  for (let i = 0; i < total; i++) {
    const res = i % 3 === 2 ? await send(visitor, 'GET', '/top') : await send(visitor, 'GET', `/accounts/${USERS[i % USERS.length]}`);
    expect(res.status, `GET request ${i + 1} answered ${res.status}: ${JSON.stringify(res.body)}`).toBe(200);
  }
  const selects = reads.reads.length;
  const onPrimary = reads.count(DATABASES.primary);
  evidence('the SELECTs of the 90 GET requests, and which database ran each', reads.events());
  if (onPrimary > selects * MAX_PRIMARY_SHARE) {
    const why = onPrimary >= selects * 0.9
      ? 'every plain read went to the primary while both replicas sat idle; send plain reads to the replicas and keep the primary for writes'
      : 'the primary takes its turn with the replicas, so it still serves a share of every read; keep it out of the rotation for plain reads';
    expect(onPrimary, `the primary served ${share(onPrimary, selects)} SELECTs for GET /accounts/… and GET /top (at most ${MAX_PRIMARY_SHARE * 100} % allowed): ${why}`).toBeLessThanOrEqual(Math.floor(selects * MAX_PRIMARY_SHARE));
  }
  for (const replica of DATABASES.replicas) {
    const served = reads.count(replica);
    const why = served === 0
      ? 'spread them over every replica, not one, so each carries its part'
      : 'one replica carries far more than the other: with three app servers and two replicas, a replica per app server gives one of them twice the load; have every app server take turns over all the replicas';
    expect(served, `${replica} served ${share(served, selects)} plain reads (at least ${MIN_REPLICA_SHARE * 100} % each expected): ${why}`).toBeGreaterThanOrEqual(Math.ceil(selects * MIN_REPLICA_SHARE));
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
  evidence('the SELECTs of the two transfers, and which database ran each', reads.events());
  expect(onReplicas.length, `two POST /transfer sent ${share(onReplicas.length, reads.reads.length)} SELECTs to ${[...new Set(onReplicas.map((r) => r.node))].join(' and ')}: a SELECT inside a transaction must run in that transaction, on the primary (tx.query), or it reads outside it and may be stale`).toBe(0);
  evidence("ada's two transfers of 80, and their answers", calls((c) => c.from === 'ada' && c.path === '/transfer'));
  expect(first.status, `ada had 100 and transferred 80 to grace: the transfer answered ${first.status} ${JSON.stringify(first.body)}`).toBe(200);
  expect(second.status, `ada had 20 left, yet a second transfer of 80 answered ${second.status}: it must be refused with 409`).toBe(409);
});

test('a balance check before a debit reads the primary: a withdrawal right after another, or after a deposit, sees it', async () => {
  const cluster = await databasesCluster();
  const ada = await loggedIn(cluster, 'ada');
  expect((await send(ada, 'POST', '/deposit', { amount: 100 })).status, 'POST /deposit failed').toBe(200);
  await cluster.sleep(1000);
  const reads = recordReads(cluster);
  const withdrawals = (since = 0) => calls((c) => c.from === 'ada' && c.path === '/withdraw', since);
  const first = await send(ada, 'POST', '/withdraw', { amount: 80 });
  const second = await send(ada, 'POST', '/withdraw', { amount: 80 });
  const balance = () => cluster.database(DATABASES.primary).query<{ balance: number }>("SELECT balance FROM accounts WHERE user = 'ada'")[0]!.balance;
  evidence("ada's two withdrawals of 80, and the SELECTs they sent", anyOf(withdrawals(), among(reads.events())));
  expect(balance(), `overdraft: ada had 100, withdrew 80, then 80 again, and her balance is now ${balance()}; the balance check read a replica that had not yet seen the first withdrawal`).toBeGreaterThanOrEqual(0);
  expect(first.status, `ada had 100 and withdrew 80: POST /withdraw answered ${first.status} ${JSON.stringify(first.body)}`).toBe(200);
  expect(second.status, `ada had 20 left, yet a second withdrawal of 80 answered ${second.status}: it must be refused with 409`).toBe(409);

  const depositAt = cluster.clock.now();
  const checked = reads.reads.length;
  expect((await send(ada, 'POST', '/deposit', { amount: 100 })).status, 'POST /deposit failed').toBe(200);
  const third = await send(ada, 'POST', '/withdraw', { amount: 110 });
  evidence("ada's withdrawal of 110 right after her deposit, and the SELECTs since the deposit", anyOf(withdrawals(depositAt), among(reads.events().slice(checked))));
  expect(third.status, `right after depositing 100 (balance 120), ada's withdrawal of 110 was refused (${third.status} ${JSON.stringify(third.body)}): the balance check read a replica that had not yet applied the deposit`).toBe(200);
  const onReplicas = reads.reads.filter((r) => r.node !== DATABASES.primary);
  evidence("the SELECTs of ada's withdrawals and deposit, and which database ran each", reads.events());
  expect(onReplicas.length, `the balance check before a debit read a replica (${share(onReplicas.length, reads.reads.length)} SELECTs went to ${[...new Set(onReplicas.map((r) => r.node))].join(' and ')}): a replica trails the primary, so a check that must not be stale reads the primary`).toBe(0);
});

/** A request that got no answer within this long is stuck: a client would have given up. */
const PATIENCE_MS = 5_000;
const BURST = 60;
/** The burst comes from this many users, each sending a tenth of it; then each sends one transfer, one at a time. */
const BURST_USERS = 6;
/** Another node that holds this many of the primary's connections during the burst. */
const REPORTING = 'reporting';
const REPORTING_CONNECTIONS = 2;

/** `answer`, or undefined if it takes longer than the clients' patience. */
function withinPatience(cluster: Cluster, answer: Promise<Answer>): Promise<Answer | undefined> {
  return Promise.race([answer, cluster.sleep(PATIENCE_MS).then(() => undefined)]);
}

test(`${BURST} requests at once, more than half of them refused, stay within the primary's ${MAX_CONNECTIONS} connections while a reporting job holds ${REPORTING_CONNECTIONS}, and the service keeps answering`, async () => {
  const cluster = await databasesCluster();
  const users = Array.from({ length: BURST_USERS }, (_, i) => `user-${i + 1}`);
  const clients: Client[] = [];
  for (const user of users) clients.push(await loggedIn(cluster, user));
  for (const client of clients) expect((await send(client, 'POST', '/deposit', { amount: 100 })).status, 'POST /deposit failed').toBe(200);
  await cluster.sleep(1000);
  // Deposits, withdrawals, transfers to no one (404), and transfers and withdrawals of more than the balance (409), all at once.
  const kinds = [
    { what: 'a deposit', path: '/deposit', body: () => ({ amount: 1 }), status: 200 },
    { what: 'a withdrawal', path: '/withdraw', body: () => ({ amount: 1 }), status: 200 },
    { what: 'a withdrawal of more than the balance', path: '/withdraw', body: () => ({ amount: 10_000 }), status: 409 },
    { what: 'a transfer to an account that does not exist', path: '/transfer', body: () => ({ to: 'nobody', amount: 1 }), status: 404 },
    { what: 'a transfer of more than the balance', path: '/transfer', body: (i: number) => ({ to: users[(i + 1) % users.length], amount: 10_000 }), status: 409 },
  ];
  const byUsers = (since: number) => calls((c) => users.includes(c.from), since);
  // A reporting job holds a few of the primary's connections meanwhile: the app servers' pools must
  // leave room for others (4 each), not merely fit the 16 between themselves.
  let reportsDone = false;
  cluster.addNode(REPORTING, (ctx) => async () => {
    await Promise.all(Array.from({ length: REPORTING_CONNECTIONS }, () => ctx.database(DATABASES.primary).transaction(async (tx) => {
      await tx.query('SELECT count(*) AS n FROM accounts');
      while (!reportsDone) await ctx.sleep(50);
    })));
    return new Response('reported');
  });
  const reporting = cluster.fetch(`http://${REPORTING}/`);
  await cluster.sleep(50);
  const burstAt = cluster.clock.now();
  const burst = await cluster.run(() =>
    Promise.all(Array.from({ length: BURST }, (_, i) => {
      const kind = kinds[i % kinds.length]!;
      return withinPatience(cluster, send(clients[i % clients.length]!, 'POST', kind.path, kind.body(i))).then((answer) => ({ kind, answer }));
    })),
  );
  reportsDone = true;
  await cluster.run(reporting);
  const refusedByDb = cluster.metrics.node(DATABASES.primary).refused;
  const failed = burst.filter((b) => b.answer !== undefined && b.answer.status !== b.kind.status);
  const stuck = burst.filter((b) => b.answer === undefined);
  if (failed.length > 0) {
    const first = failed[0]!;
    evidence(`the ${BURST} requests sent at once, and their answers`, byUsers(burstAt));
    expect.fail(`${failed.length} of ${BURST} requests sent at once got the wrong answer (${first.kind.what} answered ${first.answer!.status} ${JSON.stringify(first.answer!.body)}, expected ${first.kind.status})${refusedByDb > 0 ? `, and ${DATABASES.primary} refused ${refusedByDb} connections: it takes ${MAX_CONNECTIONS} at once, and a reporting job held ${REPORTING_CONNECTIONS} of them: three app servers sending every statement straight to it, or each through a pool of more than 4, open more than the rest. Give each app server a pool of 4 connections to the primary (which leaves room for the monitor, db-admin and jobs like that one), where every statement, SELECTs such as the balance check included, and every transaction waits its turn` : ''}`);
  }
  const laterAt = cluster.clock.now();
  const later: (Answer | undefined)[] = [];
  for (let i = 0; i < BURST_USERS; i++) later.push(await cluster.run(() => withinPatience(cluster, send(clients[i]!, 'POST', '/transfer', { to: users[(i + 1) % users.length], amount: 1 }))));
  const lost = stuck.length + later.filter((a) => a === undefined).length;
  evidence(`the requests of the burst and of the ${BURST_USERS} transfers after it: the ${lost} that got no answer within ${PATIENCE_MS / 1000} s are missing, or answered late`, byUsers(burstAt));
  expect(lost, `${stuck.length} of ${BURST} requests sent at once, and then ${later.filter((a) => a === undefined).length} of ${BURST_USERS} transfers sent one by one, got no answer within ${PATIENCE_MS / 1000} s: their app server waited for a connection that never came back. A connection taken for a transfer that was refused (404, 409, thrown inside the transaction) was never returned to the pool; give it back in a finally block, however the work ends`).toBe(0);
  const wrong = later.filter((a) => a !== undefined && a.status !== 200);
  evidence(`the ${BURST_USERS} transfers of 1 sent one by one after the burst, and their answers`, byUsers(laterAt));
  expect(wrong.length, `after the burst, ${wrong.length} of ${BURST_USERS} transfers of 1 failed (${wrong.map((a) => a!.status).join(', ')})`).toBe(0);
});
