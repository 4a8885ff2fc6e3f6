import type { Handler, NodeContext } from '@scale-lab/kit';

/** How often each server's /health is checked, and how long a check may take. */
const HEALTH_INTERVAL_MS = 1000;
const HEALTH_TIMEOUT_MS = 500;

export function createBalancer(ctx: NodeContext, servers: string[]): Handler {
  const healthy = new Set(servers);
  const inFlight = new Map(servers.map((s) => [s, 0]));

  async function check(server: string): Promise<void> {
    try {
      const res = await ctx.fetch(`http://${server}/health`, { signal: ctx.timeout(HEALTH_TIMEOUT_MS) });
      if (res.ok) healthy.add(server);
      else healthy.delete(server);
    } catch {
      healthy.delete(server);
    }
  }
  ctx.setInterval(() => servers.forEach((s) => void check(s)), HEALTH_INTERVAL_MS);

  /** The healthy server with the fewest requests in flight, not yet tried for this request. */
  function pick(tried: Set<string>): string | undefined {
    // MISTAKE: always the first healthy server; the others only ever see retries.
    return servers.find((s) => healthy.has(s) && !tried.has(s));
  }

  return async (req) => {
    const tried = new Set<string>();
    let last: Response | undefined;
    for (let server = pick(tried); server !== undefined; server = pick(tried)) {
      tried.add(server);
      inFlight.set(server, inFlight.get(server)! + 1);
      try {
        const res = await ctx.forward(req, server);
        if (res.status < 500) return res;
        // A failing server: take it out until its health check passes, and try another.
        healthy.delete(server);
        last = res;
      } catch {
        healthy.delete(server);
      } finally {
        inFlight.set(server, inFlight.get(server)! - 1);
      }
    }
    return last ?? new Response('no healthy server', { status: 503 });
  };
}
