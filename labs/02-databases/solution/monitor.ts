import type { Handler, NodeContext } from '@scale-lab/kit';
import type { Databases } from './app.ts';

/** The primary is checked every second; a check that takes longer than 500 ms has failed. */
const CHECK_EVERY_MS = 1000;
const CHECK_TIMEOUT_MS = 500;
/** Failed checks in a row before a failover: a pause of a second or two must not cost one. */
const FAIL_AFTER = 3;

interface MemberStatus {
  node: string;
  up: boolean;
  role?: 'primary' | 'replica';
  primary?: string;
  received?: number;
}

/**
 * The failover monitor: one node that watches the primary and, when it is gone for good, promotes a
 * replica (POST http://db-admin/members/<name>/promote) and records the new primary in kv under
 * databases.primaryKey, where every app server looks for it.
 */
export function createMonitor(ctx: NodeContext, databases: Databases): Handler {
  let missed = 0;
  let busy = false;

  const currentPrimary = async () => (await ctx.kv.get(databases.primaryKey)) ?? databases.primary;

  /** Promotes the replica that has received the most of the old primary's log: it has every acknowledged write. */
  async function failOver(old: string): Promise<void> {
    const members = (await (await ctx.fetch('http://db-admin/members')).json()) as MemberStatus[];
    const candidates = members.filter((m) => m.up && m.role === 'replica' && m.primary === old);
    const best = candidates.sort((a, b) => b.received! - a.received!)[0];
    if (!best) return ctx.log(`${old} is down and no replica of it answers`);
    const promoted = await ctx.fetch(`http://db-admin/members/${best.node}/promote`, { method: 'POST' });
    if (!promoted.ok) return ctx.log(`promoting ${best.node} failed: ${await promoted.text()}`);
    // The one record every app server reads: the old primary, if it comes back, gets no more writes.
    await ctx.kv.set(databases.primaryKey, best.node);
    ctx.log(`${old} missed ${missed} checks: promoted ${best.node} (received position ${best.received})`);
  }

  async function check(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      const primary = await currentPrimary();
      try {
        await ctx.database(primary, { timeout: CHECK_TIMEOUT_MS }).query('SELECT 1');
        missed = 0;
        return;
      } catch {
        missed++;
      }
      if (missed >= FAIL_AFTER) {
        await failOver(primary);
        missed = 0;
      }
    } catch (err) {
      ctx.log(`check failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      busy = false;
    }
  }

  ctx.setInterval(() => void check(), CHECK_EVERY_MS);
  return async () => Response.json({ primary: await currentPrimary(), missed });
}
