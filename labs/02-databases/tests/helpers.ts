// Shared by the graded tests of this lab: a fresh cluster per test, users with their own cookies,
// a record of which database served each SELECT the app servers sent, and the events assertions name.
import { expect, onTestFailed } from 'vitest';
import type { Client, Cluster, ClusterEvent } from '@scale-lab/kit';
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
  /** The query itself, as the cluster reported it: evidence of an assertion about reads. */
  event: ClusterEvent;
}

/** A read: a SELECT statement. */
export const isSelect = (sql: string) => /^\s*select\b/i.test(sql);

/** Records every SELECT the app servers send from now on (health checks and db-admin's probes left out). */
export function recordReads(cluster: Cluster): { reads: Read[]; events(): ClusterEvent[]; reset(): void; count(node: string): number } {
  const reads: Read[] = [];
  const group = cluster.replication(DATABASES.primary);
  cluster.metrics.on((event) => {
    if (event.type !== 'query' || !APP_SERVERS.includes(event.from) || !isSelect(event.sql)) return;
    const member = group.status().find((s) => s.node === event.node);
    reads.push({ from: event.from, node: event.node, at: event.at, applied: member?.applied ?? 0, received: member?.received ?? 0, event });
  });
  return {
    reads,
    events: () => reads.map((r) => r.event),
    reset: () => void reads.splice(0),
    count: (node) => reads.filter((r) => r.node === node).length,
  };
}

/** An HTTP call as its caller saw it: answered, or failed. */
export type Call = Extract<ClusterEvent, { type: 'answered' | 'failed' }>;
export type Query = Extract<ClusterEvent, { type: 'query' }>;
export type EventTest = (event: ClusterEvent) => boolean;

/** Evidence: the calls sent at `since` (ms of the cluster's clock) or later that `pick` keeps. */
export const calls = (pick: (call: Call) => boolean, since = 0): EventTest => (e) => (e.type === 'answered' || e.type === 'failed') && e.start >= since && pick(e);

/** Evidence: the SQL statements sent at `since` or later that `pick` keeps. */
export const queries = (pick: (query: Query) => boolean, since = 0): EventTest => (e) => e.type === 'query' && e.at >= since && pick(e);

/** Evidence: the events any of `tests` keeps. */
export const anyOf = (...tests: EventTest[]): EventTest => (e) => tests.some((t) => t(e));

/** Evidence: the requests `client` sent at `since` or later, and the statements the app servers sent `databases` meanwhile. */
export const requestsAndQueries = (client: string, databases: readonly string[], since: number): EventTest => anyOf(
  calls((c) => c.from === client, since),
  queries((q) => APP_SERVERS.includes(q.from) && databases.includes(q.node), since),
);

/** Evidence: these very events (as a test over events, to combine with others in anyOf). */
export const among = (events: readonly ClusterEvent[]): EventTest => {
  const kept = new Set(events);
  return (e) => kept.has(e);
};

/** "3 of 4", "1 read". */
export const share = (part: number, whole: number) => `${part} of ${whole}`;
