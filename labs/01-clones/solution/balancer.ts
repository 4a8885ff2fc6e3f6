import { failureKind, type Handler, type NodeContext } from '@scale-lab/kit';

/** How often each server's /health is checked, and how long a check may take. */
const HEALTH_INTERVAL_MS = 1000;
const HEALTH_TIMEOUT_MS = 500;
/** Failed checks in a row that take a server out, and good checks in a row that bring it back. */
const UNHEALTHY_AFTER = 2;
const HEALTHY_AFTER = 2;
/** How long one attempt on one server may take: a hung server costs this, not the network's 30 s. */
const FORWARD_TIMEOUT_MS = 1000;
/** Methods that do the same thing however often they run, so a retry after a timeout or a 5xx is safe. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

export function createBalancer(ctx: NodeContext, servers: string[]): Handler {
  const healthy = new Set(servers);
  // > 0: good checks in a row, < 0: failed checks in a row.
  const streak = new Map(servers.map((s) => [s, 0]));
  const inFlight = new Map(servers.map((s) => [s, 0]));
  // Where the rotation resumes, so that ties (e.g. all idle) are broken in turn: round robin.
  let cursor = 0;

  function record(server: string, ok: boolean): void {
    const previous = streak.get(server)!;
    const next = ok ? Math.max(previous, 0) + 1 : Math.min(previous, 0) - 1;
    streak.set(server, next);
    if (next <= -UNHEALTHY_AFTER) healthy.delete(server);
    if (next >= HEALTHY_AFTER) healthy.add(server);
  }

  /** True for a 2xx answer within the timeout; a refused, failed or hung check is false. */
  async function probe(server: string): Promise<boolean> {
    try {
      const res = await ctx.fetch(`http://${server}/health`, { signal: ctx.timeout(HEALTH_TIMEOUT_MS) });
      return res.ok;
    } catch {
      return false;
    }
  }
  // Every server, the ones out of the rotation too (that is how they come back), in parallel.
  ctx.setInterval(() => {
    for (const server of servers) void probe(server).then((ok) => record(server, ok));
  }, HEALTH_INTERVAL_MS);

  /** The healthy server with the fewest requests in flight, not yet tried for this request. */
  function pick(tried: Set<string>): string | undefined {
    let best: string | undefined;
    for (let i = 0; i < servers.length; i++) {
      const server = servers[(cursor + i) % servers.length]!;
      if (!healthy.has(server) || tried.has(server)) continue;
      if (best === undefined || inFlight.get(server)! < inFlight.get(best)!) best = server;
    }
    if (best !== undefined) cursor = (servers.indexOf(best) + 1) % servers.length;
    return best;
  }

  return async (req) => {
    const safeToRepeat = IDEMPOTENT.has(req.method);
    const tried = new Set<string>();
    let last: Response | undefined;
    for (let server = pick(tried); server !== undefined; server = pick(tried)) {
      tried.add(server);
      inFlight.set(server, inFlight.get(server)! + 1);
      try {
        const res = await ctx.forward(req, server, { signal: ctx.timeout(FORWARD_TIMEOUT_MS) });
        // A 5xx came after the server read the request: it may have done part of the work.
        if (res.status < 500 || !safeToRepeat) return res;
        last = res;
      } catch (err) {
        // Refused: the server never saw the request, so any request may go elsewhere. A timeout or
        // a reset came after it was sent: a POST may have been applied, so it is not sent again.
        const kind = failureKind(err);
        if (kind !== 'refused' && !safeToRepeat) {
          return new Response(`${server} did not answer a ${req.method} in time; it may have been applied, so it is not retried`, { status: kind === 'timeout' ? 504 : 502 });
        }
      } finally {
        inFlight.set(server, inFlight.get(server)! - 1);
      }
    }
    return last ?? new Response('no healthy server', { status: 503 });
  };
}
