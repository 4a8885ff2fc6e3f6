import type { Handler, NodeContext, WorkCost } from '@scale-lab/kit';

/** Each API key may call GET /api/quote this many times a minute; over it, 429. */
const QUOTE_LIMIT_PER_MINUTE = 10;
const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Orders in flight at once: what inventory can run at once (its 20 workers). Beyond that, a request
 * would only wait in a queue, and the queue is where latency and memory go to die.
 */
const MAX_ORDERS_IN_FLIGHT = 20;
/** Longest an admitted order waits for inventory: under the clients' 3 s patience, with room to answer. */
const INVENTORY_TIMEOUT_MS = 2_500;
/** How long a clone may hold the daily report before another may take over: well over the 5 s build. */
const REPORT_LEASE_MS = 60_000;

/**
 * The app server. GET / costs `work` of CPU. GET /order reserves the item at the inventory service,
 * which runs 20 requests at a time and answers in about 100 ms when healthy. GET /api/quote is
 * rate-limited per API key (x-api-key). Once a day, the daily report is built (GET
 * http://reports/build?day=N, 5 s) and sent (POST http://mailer/reports/N), exactly once.
 */
export function createApp(ctx: NodeContext, work: WorkCost): Handler {
  // Per process on purpose: it protects this process, and each clone has its own inventory share.
  let ordersInFlight = 0;

  // Shared by every clone, and kept across restarts: the store decides, not this process.
  async function dailyReport(): Promise<void> {
    const day = Math.floor(ctx.now() / DAY_MS);
    if ((await ctx.kv.get(`report:${day}:sent`)) !== null) return;
    // A lease, not a lock forever: if this clone dies mid-build, the lease runs out and another clone takes over.
    if ((await ctx.kv.set(`report:${day}:lease`, ctx.name, { nx: true, px: REPORT_LEASE_MS })) === null) return;
    const report = await (await ctx.fetch(`http://reports/build?day=${day}`)).text();
    await ctx.fetch(`http://mailer/reports/${day}`, { method: 'POST', body: report });
    await ctx.kv.set(`report:${day}:sent`, ctx.name, { ex: 2 * 24 * 60 * 60 });
  }
  ctx.setInterval(() => void dailyReport().catch((err) => ctx.log('daily report failed:', String(err))), 10 * 60_000);

  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === '/health') return new Response('ok');

    if (url.pathname === '/order') {
      // Shed load: refuse at once rather than queue; the client can retry later or elsewhere.
      if (ordersInFlight >= MAX_ORDERS_IN_FLIGHT) {
        return new Response('busy, try again shortly', { status: 503, headers: { 'retry-after': '1' } });
      }
      ordersInFlight++;
      try {
        await ctx.work(2);
        const res = await ctx.fetch('http://inventory/reserve', { method: 'POST', signal: ctx.timeout(INVENTORY_TIMEOUT_MS) });
        return new Response(res.ok ? 'ordered' : 'inventory failed', { status: res.ok ? 200 : 502 });
      } catch {
        return new Response('inventory did not answer in time', { status: 503, headers: { 'retry-after': '1' } });
      } finally {
        ordersInFlight--;
      }
    }

    if (url.pathname === '/api/quote') {
      const key = req.headers.get('x-api-key') ?? 'anonymous';
      // One counter per key and minute in the shared store, so three clones count as one; it expires with its minute.
      const counter = `quota:${key}:${Math.floor(ctx.now() / 60_000)}`;
      const count = await ctx.kv.incr(counter);
      if (count === 1) await ctx.kv.expire(counter, 60);
      if (count > QUOTE_LIMIT_PER_MINUTE) return new Response('too many requests', { status: 429, headers: { 'retry-after': '60' } });
      return Response.json({ quote: 'Simple is better than clever.' });
    }

    await ctx.work(work);
    return new Response('hello');
  };
}
