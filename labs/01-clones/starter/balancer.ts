import type { Handler, NodeContext } from '@scale-lab/kit';

/**
 * The load balancer: every client request arrives here and is forwarded to one of `servers`.
 * `ctx.forward(req, server)` sends a copy of the request to that server and returns its answer;
 * it rejects when the server cannot be reached, and `req` stays usable, so you can try another.
 */
export function createBalancer(ctx: NodeContext, servers: string[]): Handler {
  return async (req) => {
    // Every request goes to the first server, and the other two sit idle.
    const server = servers[0]!;
    return ctx.forward(req, server);
  };
}
