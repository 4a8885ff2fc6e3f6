// Provided: what an export job is, and the work it takes. Your code calls renderReport.
import type { NodeContext } from '@scale-lab/kit';

/** The queue export jobs go through (SQS semantics: receive, work, then delete). */
export const QUEUE = 'exports';
/** Where the broker moves a message it has delivered MAX_RECEIVES times (its redrive policy). */
export const DEAD_LETTER_QUEUE = 'exports-dead';
/** The redrive policy's limit: a message received this many times goes to the dead-letter queue instead. */
export const MAX_RECEIVES = 10;
/** CPU time one report takes to render, on the node that calls renderReport: seconds, not milliseconds. */
export const RENDER_MS = 2000;
/** What one export costs the customer, in cents: charged once per job. */
export const EXPORT_PRICE = 100;

/** What a reader asks for: POST /reports with this body. */
export interface ExportRequest {
  /** A customer's id, e.g. "acme". */
  customer: string;
  /** The month to report on, "YYYY-MM", e.g. "2026-10". */
  month: string;
}

/** One export job: the request and the id it was given. Its message on the queue is JSON.stringify(job), and its status URL /reports/jobs/<id>. */
export interface Job extends ExportRequest {
  id: string;
}

/** The rendered report. */
export interface Report {
  customer: string;
  month: string;
  /** How many orders the customer placed that month, and their total in cents. */
  orders: number;
  total: number;
  /** The node that rendered it. */
  renderedBy: string;
  renderedAt: number;
}

/**
 * Renders a customer's report for a month: one query, then RENDER_MS of CPU on the calling node's
 * core (a one-core node renders one report at a time). It throws on an order with no amount, as
 * renderers do on data nobody expected: such a job fails on every attempt.
 */
export async function renderReport(ctx: NodeContext, job: ExportRequest): Promise<Report> {
  ctx.log(`rendering the report of ${job.customer} for ${job.month}`);
  const rows = await ctx.db.query<{ id: number; amount: number | null }>('SELECT id, amount FROM orders WHERE customer = ? AND month = ?', [job.customer, job.month]);
  await ctx.work(RENDER_MS);
  const broken = rows.find((r) => r.amount === null);
  if (broken) throw new TypeError(`order ${broken.id} of ${job.customer} has no amount: cannot render ${job.month}`);
  ctx.log(`rendered the report of ${job.customer} for ${job.month}`);
  const total = rows.reduce((sum, r) => sum + r.amount!, 0);
  return { customer: job.customer, month: job.month, orders: rows.length, total, renderedBy: ctx.name, renderedAt: ctx.now() };
}

/** The home page is rendered once per interval (five minutes, as in the chapter) and served as a stored result. */
export const HOME_INTERVAL_MS = 5 * 60_000;
/** CPU time a render of the home page takes, after its query, on the calling node's core. */
export const HOME_RENDER_MS = 800;

/** The home page: the best customers of the year so far. */
export interface HomePage {
  top: { customer: string; total: number }[];
  /** When its data was read: the page is as old as this. */
  generatedAt: number;
  renderedBy: string;
}

/** Renders the home page: one aggregate query over every order, then HOME_RENDER_MS of CPU. */
export async function renderHomePage(ctx: NodeContext): Promise<HomePage> {
  ctx.log('rendering the home page');
  const generatedAt = ctx.now();
  const top = await ctx.db.query<{ customer: string; total: number }>('SELECT customer, SUM(amount) AS total FROM orders WHERE amount IS NOT NULL GROUP BY customer ORDER BY total DESC LIMIT 5');
  await ctx.work(HOME_RENDER_MS);
  ctx.log('rendered the home page');
  return { top, generatedAt, renderedBy: ctx.name };
}
