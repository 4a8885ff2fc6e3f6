import type { Handler, NodeContext } from '@scale-lab/kit';
import type { Databases } from './app.ts';

/**
 * The failover monitor: one node that watches the primary and, when it is gone for good, promotes a
 * replica (POST http://db-admin/members/<name>/promote) and records the new primary in kv under
 * databases.primaryKey, where every app server looks for it.
 */
export function createMonitor(ctx: NodeContext, databases: Databases): Handler {
  // Nothing watches the primary yet: when it dies, writes fail until someone promotes a replica by hand.
  return async () => Response.json({ primary: databases.primary });
}
