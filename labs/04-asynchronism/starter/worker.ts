import type { Handler, NodeContext } from '@scale-lab/kit';

/**
 * One worker: worker-1, worker-2 and worker-3 run this same code, each on one core. The factory runs
 * when the worker starts (and again after a restart), so a loop started here runs for the worker's
 * whole life. Once the worker is killed, every ctx call (receive, sleep, work…) fails at once, so a
 * loop that catches every error and goes round again would spin for ever: let such an error end the
 * loop, or await ctx.sleep(…) before going round (it throws once the worker is dead).
 */
export function createWorker(ctx: NodeContext): Handler {
  // Nothing runs here yet: the web clones do every export themselves, inside the request.
  return async () => Response.json({ worker: ctx.name, idle: true });
}
