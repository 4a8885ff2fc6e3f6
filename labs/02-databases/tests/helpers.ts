// Shared by the graded tests of this lab: a fresh cluster per test, users with their own cookies,
// and a record of which database served each SELECT the app servers sent.
import { expect, onTestFailed } from 'vitest';
import type { Client, Cluster } from '@scale-lab/kit';
import { APP_SERVERS, DATABASES, createDatabasesCluster, type DatabasesClusterOptions } from '../starter/cluster.ts';

export { APP_SERVERS, DATABASES, createDatabasesCluster };

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export async function databasesCluster(options: DatabasesClusterOptions = {}): Promise<Cluster> {
  return withSeed(await createDatabasesCluster(options));
}

/** If the current test fails, its message ends with the seed that replays `cluster`'s run (a cluster shared by several tests: in each). */
export function withSeed(cluster: Cluster): Cluster {
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}

export interface Answer {
  status: number;
  /** The app server that answered. */
  server: string;
  body: Record<string, unknown>;
}

/** Sends a request as `client` through the balancer; a JSON body for POST. */
export async function send(client: Client, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  const res = await client.fetch(`http://lb${path}`, method === 'POST' ? { method, body: JSON.stringify(body ?? {}) } : {});
  const parsed = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, server: res.headers.get('x-server') ?? '?', body: parsed };
}

/** A client named `user`, logged in (which opens the account). */
export async function loggedIn(cluster: Cluster, user: string): Promise<Client> {
  const client = cluster.client(user);
  const res = await send(client, 'POST', '/login', { user });
  expect(res.status, `POST /login for ${user} answered ${res.status}: ${JSON.stringify(res.body)}`).toBe(200);
  return client;
}

/** A SELECT an app server sent, with the state of the database that ran it at that moment. */
export interface Read {
  from: string;
  node: string;
  at: number;
  /** What that database had applied of the log, and received, when the SELECT ran. */
  applied: number;
  received: number;
}

/** Records every SELECT the app servers send from now on (health checks and db-admin's probes left out). */
export function recordReads(cluster: Cluster): { reads: Read[]; reset(): void; count(node: string): number } {
  const reads: Read[] = [];
  const group = cluster.replication(DATABASES.primary);
  cluster.metrics.on((event) => {
    if (event.type !== 'query' || !APP_SERVERS.includes(event.from) || !/^\s*select\b/i.test(event.sql)) return;
    const member = group.status().find((s) => s.node === event.node);
    reads.push({ from: event.from, node: event.node, at: event.at, applied: member?.applied ?? 0, received: member?.received ?? 0 });
  });
  return {
    reads,
    reset: () => void reads.splice(0),
    count: (node) => reads.filter((r) => r.node === node).length,
  };
}

/** "3 of 4", "1 read". */
export const share = (part: number, whole: number) => `${part} of ${whole}`;
