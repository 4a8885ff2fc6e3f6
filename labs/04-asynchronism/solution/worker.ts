import type { Handler, NodeContext, QueueMessage } from '@scale-lab/kit';
import { statusKey } from './app.ts';
import { EXPORT_PRICE, QUEUE, renderReport, type Job, type Report } from './report.ts';

/** Longer than any job (rendering takes 2 s), short enough that a killed worker's job is back within seconds. */
const VISIBILITY_MS = 10_000;
/** How long one receive waits for a message before asking again (a long poll). */
const POLL_MS = 20_000;
/** Retries: full jitter under a ceiling that doubles from 1 s per receive, up to 60 s. */
const BASE_MS = 1_000;
const CAP_MS = 60_000;

/** The mail provider refused the email for good (a 4xx): sending it again changes nothing. */
class Refused extends Error {}

/**
 * One worker: worker-1, worker-2 and worker-3 run this same code, each on one core. The factory runs
 * when the worker starts (and again after a restart), so a loop started here runs for the worker's
 * whole life. Once the worker is killed, every ctx call (receive, sleep, work…) fails at once, so a
 * loop that catches every error and goes round again would spin for ever: let such an error end the
 * loop, or await ctx.sleep(…) before going round (it throws once the worker is dead).
 */
export function createWorker(ctx: NodeContext): Handler {
  const queue = ctx.queue(QUEUE);
  let done = 0;

  const setStatus = (job: Job, fields: Record<string, unknown>) => ctx.kv.set(statusKey(job.id), JSON.stringify({ ...job, ...fields }));

  /** The charge and its idempotency key commit together, or neither does. */
  async function charge(job: Job): Promise<void> {
    await ctx.db.transaction(async (tx) => {
      const claimed = await tx.query('INSERT INTO processed_jobs (job_key) VALUES (?) ON CONFLICT DO NOTHING RETURNING job_key', [`charge:${job.id}`]);
      if (claimed.length === 0) return; // charged already, by an earlier attempt or another worker
      await tx.run('INSERT INTO charges (customer, job, amount) VALUES (?, ?, ?)', [job.customer, job.id, EXPORT_PRICE]);
      await tx.run('UPDATE customers SET balance = balance - ? WHERE id = ?', [EXPORT_PRICE, job.customer]);
    });
  }

  /** The key comes from the job, not the attempt: every retry of this job sends the same one. */
  async function email(job: Job, report: Report): Promise<void> {
    const [customer] = await ctx.db.query<{ email: string }>('SELECT email FROM customers WHERE id = ?', [job.customer]);
    const res = await ctx.fetch('http://mail/send', {
      method: 'POST',
      headers: { 'idempotency-key': `report-ready:${job.id}` },
      body: JSON.stringify({ to: customer?.email, subject: `Your report for ${job.month}`, text: `${report.orders} orders, ${report.total} cents in all.` }),
    });
    if (res.ok) return;
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new Refused(`the mail provider refused the email: ${res.status} ${await res.text()}`);
    throw new Error(`the mail provider answered ${res.status}`);
  }

  async function run(job: Job): Promise<void> {
    const before = await ctx.kv.get(statusKey(job.id));
    if (before && JSON.parse(before).status === 'done') return; // a duplicate of a finished job
    await setStatus(job, { status: 'running', worker: ctx.name });
    const stored = await ctx.kv.get(`report:${job.id}`);
    const report = stored ? (JSON.parse(stored) as Report) : await renderReport(ctx, job);
    if (!stored) await ctx.kv.set(`report:${job.id}`, JSON.stringify(report));
    await charge(job);
    try {
      await email(job, report);
      await setStatus(job, { status: 'done', report, email: 'sent' });
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      await setStatus(job, { status: 'done', report, email: err.message });
    }
  }

  const retryDelay = (receiveCount: number) => Math.floor(ctx.random() * Math.min(CAP_MS, BASE_MS * 2 ** (receiveCount - 1)));

  async function handle(message: QueueMessage): Promise<void> {
    try {
      await run(JSON.parse(message.body) as Job);
    } catch (err) {
      ctx.log(`job failed on receive ${message.receiveCount}: ${err instanceof Error ? err.message : String(err)}`);
      // No delete: the message comes back after the backoff, and after MAX_RECEIVES the broker dead-letters it.
      await queue.changeVisibility(message.receipt, retryDelay(message.receiveCount));
      return;
    }
    // Acknowledged only now that the work is done.
    await queue.delete(message.receipt);
    done++;
  }

  async function loop(): Promise<void> {
    for (;;) {
      // One message at a time: the worker has one core, and a batch would wait on it.
      const messages = await queue.receive({ wait: POLL_MS, visibilityTimeout: VISIBILITY_MS }).catch(async (err: unknown) => {
        ctx.log(`receive failed: ${err instanceof Error ? err.message : String(err)}`);
        await ctx.sleep(1000); // throws once the worker is dead, which ends the loop
        return [];
      });
      for (const message of messages) await handle(message).catch((err: unknown) => ctx.log(`could not settle a message: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  void loop().catch(() => {}); // ends when the worker is killed
  return async () => Response.json({ worker: ctx.name, done });
}
