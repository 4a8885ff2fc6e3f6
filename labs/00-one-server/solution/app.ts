import type { Handler, NodeContext, WorkCost } from '@scale-lab/kit';

/**
 * Orders in flight at once: what inventory can run at once (its 20 workers). Beyond that, a request
 * would only wait in a queue, and the queue is where latency and memory go to die.
 */
const MAX_ORDERS_IN_FLIGHT = 20;
/** Longest an admitted order waits for inventory: under the clients' 3 s patience, with room to answer. */
const INVENTORY_TIMEOUT_MS = 2_500;

/**
 * The app server. GET / costs `work` of CPU. GET /order reserves the item at the inventory service,
 * which runs 20 requests at a time and answers in about 100 ms when healthy.
 */
export function createApp(ctx: NodeContext, work: WorkCost): Handler {
  let ordersInFlight = 0;

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

    await ctx.work(work);
    return new Response('hello');
  };
}
