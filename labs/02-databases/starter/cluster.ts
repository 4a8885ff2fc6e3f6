// Provided: the cluster of this lab. Your code is in app.ts.
import { Cluster, type ClusterOptions, type Handler, type NodeContext } from '@scale-lab/kit';
import { createApp, type Databases } from './app.ts';
import { createDbAdmin } from './db-admin.ts';

/** The identical app servers behind the balancer. */
export const APP_SERVERS = ['app-1', 'app-2', 'app-3'];

/** The primary takes every write; the replicas follow its log. */
export const DATABASES: Databases = { primary: 'db', replicas: ['db-replica-1', 'db-replica-2'] };

/** The replicas receive the primary's log over a 100 ms link, so each trails it by a little over 100 ms. */
export const REPLICATION_LATENCY_MS = 100;

const SCHEMA = `
  CREATE TABLE accounts (
    user    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    balance INTEGER NOT NULL DEFAULT 0
  );`;

/** Round robin over the app servers: each request to http://lb/ goes to the next one. */
function createBalancer(ctx: NodeContext, servers: string[]): Handler {
  let next = 0;
  return (req) => ctx.forward(req, servers[next++ % servers.length]!);
}

/**
 * Clients reach the accounts service at http://lb/, which takes turns between app-1..app-3. Sessions
 * live in kv. The database `db` is the primary; db-replica-1 and db-replica-2 follow it; db-admin
 * reports each member's log positions and can promote a replica.
 */
export async function createDatabasesCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster({ seed: 1, ...options });
  cluster.addStore('kv');
  const group = await cluster.addReplicatedDatabase(DATABASES.primary, { replicas: DATABASES.replicas, setup: SCHEMA, cost: 2, applyCost: 2 });
  for (const replica of DATABASES.replicas) cluster.link(DATABASES.primary, replica, { latency: REPLICATION_LATENCY_MS });
  cluster.addNode('db-admin', (ctx) => createDbAdmin(ctx, group));
  for (const name of APP_SERVERS) cluster.addNode(name, (ctx) => createApp(ctx, DATABASES));
  cluster.addNode('lb', (ctx) => createBalancer(ctx, APP_SERVERS));
  return cluster;
}
