import type { Handler, NodeContext, WorkCost } from '@scale-lab/kit';

/** Each API key may call GET /api/quote this many times a minute; over it, 429. */
const QUOTE_LIMIT_PER_MINUTE = 10;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The app server. GET / costs `work` of CPU. GET /order reserves the item at the inventory service,
 * which runs 20 requests at a time and answers in about 100 ms when healthy. GET /api/quote is
 * rate-limited per API key (x-api-key). Once a day, the daily report is built (GET
 * http://reports/build?day=N, 5 s) and sent (POST http://mailer/reports/N), exactly once.
 */
export function createApp(ctx: NodeContext, work: WorkCost): Handler {
  // Calls per API key in the current minute, kept in this process.
  const calls = new Map<string, number>();
  ctx.setInterval(() => calls.clear(), 60_000);

  // The last day this process sent the report.
  let reportedDay = -1;
  async function dailyReport(): Promise<void> {
    const day = Math.floor(ctx.now() / DAY_MS);
    if (reportedDay === day) return;
    reportedDay = day;
    const report = await (await ctx.fetch(`http://reports/build?day=${day}`)).text();
    await ctx.fetch(`http://mailer/reports/${day}`, { method: 'POST', body: report });
  }
  ctx.setInterval(() => void dailyReport().catch((err) => ctx.log('daily report failed:', String(err))), 10 * 60_000);

  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === '/health') return new Response('ok');

    if (url.pathname === '/order') {
      await ctx.work(2);
      // Every order waits for inventory, however many already wait.
      const res = await ctx.fetch('http://inventory/reserve', { method: 'POST' });
      return new Response(res.ok ? 'ordered' : 'inventory failed', { status: res.ok ? 200 : 502 });
    }

    if (url.pathname === '/api/quote') {
      const key = req.headers.get('x-api-key') ?? 'anonymous';
      const count = (calls.get(key) ?? 0) + 1;
      calls.set(key, count);
      if (count > QUOTE_LIMIT_PER_MINUTE) return new Response('too many requests', { status: 429, headers: { 'retry-after': '60' } });
      return Response.json({ quote: 'Simple is better than clever.' });
    }

    await ctx.work(work);
    return new Response('hello');
  };
}
