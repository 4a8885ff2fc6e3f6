import type { Handler, NodeContext } from '@scale-lab/kit';
import { HOME_INTERVAL_MS, QUEUE, renderHomePage, type ExportRequest, type Job } from './report.ts';

/** A request the service refuses: answered with `status` and `{ error }`. */
class Refused extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function exportRequestOf(req: Request): Promise<ExportRequest> {
  const body = (await req.json().catch(() => null)) as Partial<ExportRequest> | null;
  if (typeof body?.customer !== 'string' || typeof body.month !== 'string') throw new Refused(400, 'send { "customer": "acme", "month": "2026-10" }');
  return { customer: body.customer, month: body.month };
}

/** Where a job's status lives: in kv, which every clone and every worker reads. */
export const statusKey = (id: string) => `job:${id}`;

/** The stored home page, which every view reads. */
const HOME_KEY = 'home:page';
/** How often each clone checks whether the current interval's page has been claimed. */
const HOME_CHECK_MS = 60_000;

/**
 * One web clone. All three run this same code; ctx.name tells them apart (app-1, app-2, app-3).
 *   POST /reports { customer, month }   export a customer's monthly report
 *   GET  /reports/jobs/<id>             the status of an export job
 *   GET  /                              the home page (renderHomePage)
 */
export function createApp(ctx: NodeContext): Handler {
  /**
   * Every clone asks once a minute; the first to claim the current interval renders it. The claim
   * expires on its own: if its holder dies mid-render, the next interval is claimed afresh.
   */
  async function refreshHome(): Promise<void> {
    const interval = Math.floor(ctx.now() / HOME_INTERVAL_MS);
    const claimed = await ctx.kv.set(`home:render:${interval}`, ctx.name, { nx: true, px: 2 * HOME_INTERVAL_MS });
    if (claimed !== 'OK') return;
    const page = await renderHomePage(ctx);
    // One SET replaces the page: views see the old one or the new one, never half.
    await ctx.kv.set(HOME_KEY, JSON.stringify(page));
  }
  const refresh = () => void refreshHome().catch((err: unknown) => ctx.log(`home page refresh failed: ${err instanceof Error ? err.message : String(err)}`));
  ctx.setInterval(refresh, HOME_CHECK_MS);
  refresh();

  return async (req) => {
    const path = new URL(req.url).pathname;
    try {
      if (req.method === 'POST' && path === '/reports') {
        const request = await exportRequestOf(req);
        // One counter in kv for every clone: ids made in one clone's memory would collide.
        const job: Job = { id: `job-${await ctx.kv.incr('jobs:next')}`, ...request };
        await ctx.kv.set(statusKey(job.id), JSON.stringify({ ...job, status: 'queued' }));
        await ctx.queue(QUEUE).send(JSON.stringify(job));
        return Response.json({ id: job.id, status: 'queued' }, { status: 202, headers: { location: `/reports/jobs/${job.id}`, 'retry-after': '2' } });
      }
      if (req.method === 'GET' && path === '/') {
        const page = await ctx.kv.get(HOME_KEY);
        if (page === null) return Response.json({ error: 'the home page is being prepared' }, { status: 503, headers: { 'retry-after': '1' } });
        return new Response(page, { headers: { 'content-type': 'application/json' } });
      }
      const asked = /^\/reports\/jobs\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && asked) {
        const status = await ctx.kv.get(statusKey(asked[1]!));
        if (status === null) return Response.json({ error: `no job ${asked[1]}` }, { status: 404 });
        return new Response(status, { headers: { 'content-type': 'application/json', 'retry-after': '2' } });
      }
      return Response.json({ error: 'not found' }, { status: 404 });
    } catch (err) {
      if (err instanceof Refused) return Response.json({ error: err.message }, { status: err.status });
      throw err;
    }
  };
}
