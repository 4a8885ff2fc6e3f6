import type { Handler, NodeContext } from '@scale-lab/kit';
import { EXPORT_PRICE, renderHomePage, renderReport, type ExportRequest } from './report.ts';

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

/**
 * One web clone. All three run this same code; ctx.name tells them apart (app-1, app-2, app-3).
 *   POST /reports { customer, month }   export a customer's monthly report
 *   GET  /reports/jobs/<id>             the status of an export job
 *   GET  /                              the home page (renderHomePage)
 */
export function createApp(ctx: NodeContext): Handler {
  return async (req) => {
    const path = new URL(req.url).pathname;
    try {
      if (req.method === 'POST' && path === '/reports') {
        const request = await exportRequestOf(req);
        // The whole export happens here, while the client waits: seconds of rendering on this
        // clone's only core, then the charge, then the email.
        const report = await renderReport(ctx, request);
        await ctx.db.run('INSERT INTO charges (customer, job, amount) VALUES (?, ?, ?)', [request.customer, `${request.customer}/${request.month}`, EXPORT_PRICE]);
        await ctx.db.run('UPDATE customers SET balance = balance - ? WHERE id = ?', [EXPORT_PRICE, request.customer]);
        const [customer] = await ctx.db.query<{ email: string }>('SELECT email FROM customers WHERE id = ?', [request.customer]);
        await ctx.fetch('http://mail/send', {
          method: 'POST',
          body: JSON.stringify({ to: customer?.email, subject: `Your report for ${request.month}`, text: `${report.orders} orders, ${report.total} cents in all.` }),
        });
        return Response.json(report);
      }
      if (req.method === 'GET' && path === '/') {
        // Every view renders the page again: a query over every order and 800 ms of this clone's core.
        return Response.json(await renderHomePage(ctx));
      }
      if (req.method === 'GET' && path.startsWith('/reports/jobs/')) {
        return Response.json({ error: 'there are no export jobs: every export is done in its request' }, { status: 404 });
      }
      return Response.json({ error: 'not found' }, { status: 404 });
    } catch (err) {
      if (err instanceof Refused) return Response.json({ error: err.message }, { status: err.status });
      throw err;
    }
  };
}
