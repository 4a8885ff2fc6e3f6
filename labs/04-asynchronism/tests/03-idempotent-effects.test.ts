import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import type { Cluster, ClusterEvent } from '@scale-lab/kit';
import { OPENING_BALANCE } from '../starter/cluster.ts';
import { EXPORT_PRICE, QUEUE, type Job } from '../starter/report.ts';
import { WORKERS, asyncCluster, enqueue, isEmailTry, isExportsMessage, seconds, sentEmails, statusFrom } from './helpers.ts';

/** What a job did: its message in exports, the workers' database statements and their emails. */
const isWorkerEffect = (e: ClusterEvent) => isExportsMessage(e) || (e.type === 'query' && WORKERS.includes(e.from)) || isEmailTry(e);

/** Long enough for a job whose worker died to come back (a visibility timeout up to ~50 s) and be done. */
const SETTLE_MS = 70_000;

/** How many times the customer was charged and emailed, and the keys their emails came with. */
async function effects(cluster: Cluster, job: Job): Promise<{ charges: number; balance: number; keys: number; emails: (string | null)[] }> {
  const db = cluster.database('db');
  const [{ n }] = db.query<{ n: number }>('SELECT COUNT(*) AS n FROM charges WHERE customer = ?', [job.customer]) as [{ n: number }];
  const [{ balance }] = db.query<{ balance: number }>('SELECT balance FROM customers WHERE id = ?', [job.customer]) as [{ balance: number }];
  const [{ keys }] = db.query<{ keys: number }>('SELECT COUNT(*) AS keys FROM processed_jobs') as [{ keys: number }];
  const [{ email }] = db.query<{ email: string }>('SELECT email FROM customers WHERE id = ?', [job.customer]) as [{ email: string }];
  const emails = (await sentEmails(cluster)).filter((e) => e.to === email).map((e) => e.key);
  return { charges: n, balance, keys, emails };
}

/** Says what the two emails' keys show. */
function whyTwoEmails(keys: (string | null)[]): string {
  if (keys.some((k) => k === null)) return 'an email sent without an Idempotency-Key header cannot be told from a new one: send one, derived from the job';
  return `they came with different Idempotency-Keys (${keys.join(', ')}), so the provider saw two emails; a key made per attempt never matches the earlier attempt's: derive it from the job's id`;
}

test('a worker that dies at any point of a job leaves it charged once and emailed once, after its message comes back', async () => {
  // Kill points: before each statement the worker sends to db, and as the mail provider answers it.
  for (let killAt = 1; ; killAt++) {
    const cluster = await asyncCluster();
    let seen = 0;
    let death: { worker: string; at: number; before: string } | undefined;
    cluster.metrics.on((event) => {
      const step = event.type === 'query' && event.node === 'db' && WORKERS.includes(event.from)
        ? { worker: event.from, what: `the statement ${event.sql.trim().split(/\s+/).slice(0, 3).join(' ')}…` }
        : event.type === 'request' && event.node === 'mail' && WORKERS.includes(event.from) ? { worker: event.from, what: 'the mail provider\'s answer (the email was sent)' } : undefined;
      if (!step || death || ++seen !== killAt) return;
      death = { worker: step.worker, at: event.at, before: step.what };
      cluster.kill(step.worker);
      cluster.clock.setTimeout(() => cluster.revive(step.worker), 1000);
    });
    const { jobs, locations } = enqueue(cluster, [{ customer: 'globex', month: '2026-07' }]);
    const job = jobs[0]!;
    await cluster.sleep(SETTLE_MS);
    const { charges, balance, keys, emails } = await effects(cluster, job);
    const when = death ? `${death.worker} died at ${seconds(death.at)} just before ${death.before}` : 'no worker died';
    // Named only in the run that fails (one per kill point otherwise), with the events up to now.
    if (charges !== 1 || balance !== OPENING_BALANCE - EXPORT_PRICE || emails.length !== 1) {
      evidence(`the job's message, the statements the workers sent to db and the emails they sent, when ${when}`, isWorkerEffect);
    }
    if (charges === 0) {
      expect.fail(!death
        ? `${job.id} was never charged, though no worker died: the job must charge the customer EXPORT_PRICE (a row in charges, and the amount off their balance)`
        : `${job.id} was never charged: ${when}, ${keys > 0 ? 'after the idempotency key was recorded in a transaction of its own; when the message came back the key said "already done" and the charge was skipped' : 'and the job was not run again'}. Record the key and the charge in one transaction (ctx.db.transaction), so both commit or neither does`);
    }
    if (charges > 1) {
      expect.fail(keys > 1
        ? `${job.id} was charged ${charges} times: ${when}, and the attempt after it recorded another idempotency key (processed_jobs holds ${keys}); a key made per attempt never matches the earlier attempt's: derive it from the job's id`
        : `${job.id} was charged ${charges} times: ${when}, and the attempt after it charged again; the charge committed without its idempotency key, so nothing said it was done: record the key and the charge in one transaction`);
    }
    expect(balance, `${job.customer}'s balance is ${balance} after one export of ${EXPORT_PRICE} cents (${when}): it must be ${OPENING_BALANCE - EXPORT_PRICE}`).toBe(OPENING_BALANCE - EXPORT_PRICE);
    expect(emails.length, emails.length === 0
      ? `no email reached ${job.customer} (${when}): the job must send it when its message comes back`
      : `${job.customer} got ${emails.length} emails for one report (${when}): ${whyTwoEmails(emails)}`).toBe(1);
    const status = (await statusFrom(cluster, 'app-1', locations[0]!)).body.status;
    if (status !== 'done') evidence(`the job's message, the statements the workers sent to db and the emails they sent, when ${when}`, isWorkerEffect);
    expect(status, `${SETTLE_MS / 1000} s after the job was queued (${when}), ${job.id} is ${JSON.stringify(status)}, not "done"`).toBe('done');
    if (!death) break; // the job has fewer steps than killAt: every kill point was tried
  }
});

test('a job sent twice (the producer retried its send) is charged once and emailed once, though two workers run it at the same time', async () => {
  const cluster = await asyncCluster();
  const { jobs } = enqueue(cluster, [{ customer: 'initech', month: '2026-08' }]);
  const job = jobs[0]!;
  cluster.queue(QUEUE).send(JSON.stringify(job));
  await cluster.sleep(30_000);
  const { charges, keys, emails } = await effects(cluster, job);
  evidence('the two messages of the job sent twice, the statements the workers sent to db for it, and the emails they sent', isWorkerEffect);
  const why = keys === 0
    ? 'each looked for an earlier charge, found none, and charged. A check and a write in separate statements race: let one INSERT of the job\'s key, unique, in the charge\'s transaction decide (INSERT … ON CONFLICT DO NOTHING RETURNING)'
    : `both charged, though processed_jobs holds ${keys} key${keys > 1 ? 's' : ''} for it: the key must be claimed first, in the charge's transaction, by an INSERT only one of them can make, and the charge made only by the one whose INSERT took a row`;
  expect(charges, charges === 0 ? `${job.id} was never charged: the job must charge the customer EXPORT_PRICE (a row in charges, and the amount off their balance)` : `${job.id} was sent twice and charged ${charges} times: two workers ran it at once and ${why}`).toBe(1);
  expect(emails.length, `${job.id} was sent twice and ${job.customer} got ${emails.length} emails: ${whyTwoEmails(emails)}`).toBe(1);
});

test('two exports of the same report are two jobs: each is charged and emailed', async () => {
  const cluster = await asyncCluster();
  // The customer exports its August report, then exports it again a minute later: a new job, a new charge.
  const first = enqueue(cluster, [{ customer: 'hooli', month: '2026-08' }], 'job-first-').jobs[0]!;
  await cluster.sleep(60_000);
  const second = enqueue(cluster, [{ customer: 'hooli', month: '2026-08' }], 'job-second-').jobs[0]!;
  await cluster.sleep(30_000);
  const { charges, emails } = await effects(cluster, second);
  evidence('the two exports\' messages, the statements the workers sent to db for them, and the emails they sent', isWorkerEffect);
  const status = (await statusFrom(cluster, 'app-1', `/reports/jobs/${second.id}`)).body.status;
  expect(status, `the second export of hooli's ${second.month} report, ${second.id}, queued a minute after the first, is ${JSON.stringify(status)} 30 s later, not "done": the workers must keep taking messages for their whole life`).toBe('done');
  const what = `hooli exported its ${second.month} report twice, as two jobs (${first.id}, then ${second.id} a minute later)`;
  const why = 'an idempotency key made of what the job asks for (the customer and the month) stops a second, legitimate export as if it were a retry: make both keys from the job\'s id';
  expect(charges, `${what}, and was charged ${charges} time${charges === 1 ? '' : 's'}: ${why}`).toBe(2);
  expect(emails.length, `${what}, and got ${emails.length} email${emails.length === 1 ? '' : 's'}: ${why}`).toBe(2);
});
