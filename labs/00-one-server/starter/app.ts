import type { Handler, NodeContext, WorkCost } from '@scale-lab/kit';

/**
 * The app server. GET / costs `work` of CPU. GET /order reserves the item at the inventory service,
 * which runs 20 requests at a time and answers in about 100 ms when healthy.
 */
export function createApp(ctx: NodeContext, work: WorkCost): Handler {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === '/health') return new Response('ok');

    if (url.pathname === '/order') {
      await ctx.work(2);
      // Every order waits for inventory, however many already wait.
      const res = await ctx.fetch('http://inventory/reserve', { method: 'POST' });
      return new Response(res.ok ? 'ordered' : 'inventory failed', { status: res.ok ? 200 : 502 });
    }

    await ctx.work(work);
    return new Response('hello');
  };
}
