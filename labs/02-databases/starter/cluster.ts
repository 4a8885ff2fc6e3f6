// Provided: the cluster of this lab. Your code is in app.ts.
import { Cluster, type ClusterOptions, type Handler, type NodeContext } from '@scale-lab/kit';
import { createApp, type Databases } from './app.ts';
import { createDbAdmin } from './db-admin.ts';
import { createMonitor } from './monitor.ts';

/** The identical app servers behind the balancer. */
export const APP_SERVERS = ['app-1', 'app-2', 'app-3'];

/** The primary takes every write; the replicas follow its log. */
export const DATABASES: Databases = { primary: 'db', replicas: ['db-replica-1', 'db-replica-2'], primaryKey: 'db:primary', shards: ['shard-1', 'shard-2', 'shard-3', 'shard-4'], spareShards: ['shard-5'] };

/** Connections each database takes at once; a call over it is refused at once, as PostgreSQL refuses past max_connections. */
export const MAX_CONNECTIONS = 16;

/** The replicas receive the primary's log over a 100 ms link, so each trails it by a little over 100 ms. */
export const REPLICATION_LATENCY_MS = 100;

const SCHEMA = `
  CREATE TABLE accounts (
    user    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    balance INTEGER NOT NULL DEFAULT 0
  );`;

const USERS_SCHEMA = 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER NOT NULL);';

/** Round robin over the app servers: each request to http://lb/ goes to the next one. */
function createBalancer(ctx: NodeContext, servers: string[]): Handler {
  let next = 0;
  return (req) => ctx.forward(req, servers[next++ % servers.length]!);
}

/**
 * Clients reach the accounts service at http://lb/, which takes turns between app-1..app-3. Sessions
 * live in kv. The database `db` is the primary (16 connections at most); db-replica-1 and db-replica-2 follow it; db-admin
 * reports each member's log positions and can promote a replica; `monitor` watches the primary.
 * The users directory is spread over four databases, shard-1 to shard-4; shard-5 stands by, empty,
 * until a resharding moves users onto it.
 */
export interface DatabasesClusterOptions extends ClusterOptions {
  /** Semi-synchronous replication: a commit is acknowledged once this many replicas have received it (default 0). */
  sync?: number;
}

export async function createDatabasesCluster({ sync = 0, ...options }: DatabasesClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster({ seed: 1, ...options });
  cluster.addStore('kv');
  const group = await cluster.addReplicatedDatabase(DATABASES.primary, { replicas: DATABASES.replicas, sync, setup: SCHEMA, cost: 2, applyCost: 2, maxConnections: MAX_CONNECTIONS });
  for (const replica of DATABASES.replicas) cluster.link(DATABASES.primary, replica, { latency: REPLICATION_LATENCY_MS });
  for (const shard of [...DATABASES.shards, ...DATABASES.spareShards]) await cluster.addDatabase(shard, { setup: USERS_SCHEMA, cost: 2 });
  cluster.addNode('db-admin', (ctx) => createDbAdmin(ctx, group));
  cluster.addNode('monitor', (ctx) => createMonitor(ctx, DATABASES));
  for (const name of APP_SERVERS) cluster.addNode(name, (ctx) => createApp(ctx, DATABASES));
  cluster.addNode('lb', (ctx) => createBalancer(ctx, APP_SERVERS));
  return cluster;
}
