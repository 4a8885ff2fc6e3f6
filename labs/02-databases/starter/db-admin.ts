// Provided: the database's admin API, like the REST API a replication manager (Patroni, Orchestrator)
// runs beside each database. It answers for a member only after that member answers it, so a dead or
// hung database shows as down here too.
import type { Handler, NodeContext, ReplicationGroup } from '@scale-lab/kit';

/** How long the admin waits for a member to answer its probe before calling it down. */
const PROBE_TIMEOUT_MS = 500;

/** What GET http://db-admin/members says of each member. */
export interface MemberStatus {
  node: string;
  /** False when the member did not answer within 500 ms; then nothing else is known. */
  up: boolean;
  role?: 'primary' | 'replica';
  /** The primary a replica follows. */
  primary?: string;
  /** Last log position received (a primary: its last commit). */
  received?: number;
  /** Last log position applied: a read on this member sees every write up to this position. */
  applied?: number;
  /** Milliseconds since the oldest commit this replica has not applied was made (0: caught up). */
  lag?: number;
}

/**
 * GET /members: every member's status. GET /members/<name>: one member's.
 * POST /members/<name>/promote: makes that replica the primary; the other replicas follow it.
 */
export function createDbAdmin(ctx: NodeContext, group: ReplicationGroup): Handler {
  const names = () => group.status().map((s) => s.node);

  async function statusOf(node: string): Promise<MemberStatus> {
    try {
      await ctx.database(node, { timeout: PROBE_TIMEOUT_MS }).query('SELECT 1');
    } catch {
      return { node, up: false };
    }
    const s = group.status().find((m) => m.node === node)!;
    return { node, up: true, role: s.role, primary: s.primary, received: s.received, applied: s.applied, lag: s.lag };
  }

  return async (req) => {
    const parts = new URL(req.url).pathname.split('/').filter(Boolean);
    if (parts[0] !== 'members') return Response.json({ error: 'try GET /members' }, { status: 404 });
    if (req.method === 'GET' && parts.length === 1) return Response.json(await Promise.all(names().map(statusOf)));
    const node = parts[1]!;
    if (!names().includes(node)) return Response.json({ error: `${node} is not a member (members: ${names().join(', ')})` }, { status: 404 });
    if (req.method === 'GET' && parts.length === 2) return Response.json(await statusOf(node));
    if (req.method === 'POST' && parts[2] === 'promote') {
      const status = await statusOf(node);
      if (!status.up) return Response.json({ error: `${node} does not answer` }, { status: 503 });
      if (status.role !== 'replica') return Response.json({ error: `${node} is already a primary` }, { status: 409 });
      group.promote(node);
      ctx.log(`promoted ${node}`);
      return Response.json(await statusOf(node));
    }
    return Response.json({ error: 'not found' }, { status: 404 });
  };
}
