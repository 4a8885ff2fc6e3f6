import type { Handler, NodeContext, WorkCost } from '@scale-lab/kit';

/** The app server: every GET / costs `work` of CPU on this server's cores. */
export function createApp(ctx: NodeContext, work: WorkCost): Handler {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === '/health') return new Response('ok');
    await ctx.work(work);
    return new Response('hello');
  };
}
