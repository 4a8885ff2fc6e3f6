// Shared by the graded tests of this lab: a fresh cluster per test, exports sent through the
// balancer, status read from one clone, and a record of which node rendered which report.
import { expect, onTestFailed } from 'vitest';
import { evidence, type Cluster, type ClusterEvent, type ClusterOptions } from '@scale-lab/kit';
import { APP_SERVERS, WORKERS, createAsyncCluster } from '../starter/cluster.ts';
import type { SentEmail } from '../starter/mail.ts';
import { QUEUE, type ExportRequest, type Job, type Report } from '../starter/report.ts';

export { APP_SERVERS, WORKERS };

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export async function asyncCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = await createAsyncCluster(options);
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}

export interface Accepted {
  status: number;
  /** The status URL (Location), if any. */
  location: string | null;
  /** Milliseconds of cluster time the POST took. */
  took: number;
  body: Record<string, unknown>;
}

/** POST /reports through the balancer. */
export async function postExport(cluster: Cluster, request: ExportRequest): Promise<Accepted> {
  const start = cluster.clock.now();
  const res = await cluster.fetch('http://lb/reports', { method: 'POST', body: JSON.stringify(request) });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, location: res.headers.get('location'), took: cluster.clock.now() - start, body };
}

/** Clusters whose failed POST /reports were already named as evidence. */
const postsNamed = new WeakSet<Cluster>();

/** POSTs an export and expects 202 with a status URL; returns the URL. */
export async function accepted(cluster: Cluster, request: ExportRequest): Promise<string> {
  const res = await postExport(cluster, request);
  // A Location may be a path or an absolute URL (RFC 9110): the tests ask each clone for its path.
  const path = res.location === null ? null : new URL(res.location, 'http://lb').pathname;
  // Named only when it fails, and once per cluster: several exports may be accepted at once.
  if ((res.status !== 202 || !/^\/reports\/jobs\/\S+/.test(path ?? '')) && !postsNamed.has(cluster)) {
    postsNamed.add(cluster);
    evidence('the POST /reports through the balancer, and what the clones sent to kv, db and exports', (e) => isCall('POST', '/reports')(e) || isStoreOpBy(APP_SERVERS)(e) || isExportsMessage(e));
  }
  expect(res.status, `POST /reports ${JSON.stringify(request)} answered ${res.status} ${JSON.stringify(res.body)}, not 202 Accepted`).toBe(202);
  expect(path, 'POST /reports answered 202 without a Location header: say where the job\'s status can be read').toMatch(/^\/reports\/jobs\/\S+/);
  return path!;
}

/**
 * Puts jobs straight on the queue, as a producer does (one message per job, its body
 * JSON.stringify(job)), all at once; returns their status URLs.
 */
export function enqueue(cluster: Cluster, requests: ExportRequest[], prefix = 'job-t'): { jobs: Job[]; locations: string[] } {
  const jobs = requests.map((r, i) => ({ id: `${prefix}${i + 1}`, ...r }));
  for (const job of jobs) cluster.queue(QUEUE).send(JSON.stringify(job));
  return { jobs, locations: jobs.map((j) => `/reports/jobs/${j.id}`) };
}

export interface JobStatus {
  status?: string;
  report?: Report;
  [field: string]: unknown;
}

/** GET a status URL from one clone directly; `code` is the HTTP status, 0 when there was no answer. */
export async function statusFrom(cluster: Cluster, clone: string, location: string): Promise<{ code: number; body: JobStatus }> {
  try {
    const res = await cluster.fetch(`http://${clone}${location}`);
    return { code: res.status, body: (await res.json().catch(() => ({}))) as JobStatus };
  } catch {
    return { code: 0, body: {} };
  }
}

/** Polls each status URL through app-1 every `every` ms until all say done, or `within` ms pass. */
export async function waitForDone(cluster: Cluster, locations: string[], within: number, every = 500): Promise<Map<string, JobStatus>> {
  const last = new Map<string, JobStatus>();
  const end = cluster.clock.now() + within;
  for (;;) {
    for (const location of locations) last.set(location, (await statusFrom(cluster, APP_SERVERS[0]!, location)).body);
    if ([...last.values()].every((s) => s.status === 'done') || cluster.clock.now() >= end) return last;
    await cluster.sleep(every);
  }
}

/** Every report rendered, or started, from now on: which node, for which customer and month, when. */
export function recordRenders(cluster: Cluster): { started: Render[]; finished: Render[]; of(request: ExportRequest): Render[] } {
  const started: Render[] = [];
  const finished: Render[] = [];
  cluster.metrics.on((event) => {
    if (event.type !== 'log') return;
    const m = /^(rendering|rendered) the report of (\S+) for (\S+)$/.exec(event.message);
    if (m) (m[1] === 'rendering' ? started : finished).push({ node: event.node, customer: m[2]!, month: m[3]!, at: event.at });
  });
  return { started, finished, of: (r) => finished.filter((f) => f.customer === r.customer && f.month === r.month) };
}

export interface Render {
  node: string;
  customer: string;
  month: string;
  at: number;
}

/** The report's figures as the database has them. */
export function expectedReport(cluster: Cluster, request: ExportRequest): { orders: number; total: number } {
  const [row] = cluster.database('db').query<{ orders: number; total: number }>('SELECT COUNT(*) AS orders, COALESCE(SUM(amount), 0) AS total FROM orders WHERE customer = ? AND month = ?', [request.customer, request.month]);
  return row!;
}

/** Every email the mail provider really sent. */
export async function sentEmails(cluster: Cluster): Promise<SentEmail[]> {
  return (await (await cluster.fetch('http://mail/sent')).json()) as SentEmail[];
}

/** "3 of 4". */
export const share = (part: number, whole: number) => `${part} of ${whole}`;
/** 2,004 ms → "2.0 s". */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// What evidence(…) names in these tests: predicates over the cluster's events, so they cost nothing
// outside a recorded run.
/** What happened to the messages of exports: sends, receives, deletes and dead letters, and who asked. */
export const isExportsMessage = (e: ClusterEvent) => e.type === 'queue' && (e.node === QUEUE || e.op === 'dead-letter');
/** A call answered for `method path` (a path ending in / names every path under it), from either side. */
export const isCall = (method: string, path: string) => (e: ClusterEvent) =>
  (e.type === 'answered' || e.type === 'failed') && e.method === method && (path.endsWith('/') ? e.path.startsWith(path) : e.path === path);
/** A key-value command or a database statement sent by one of `nodes`. */
export const isStoreOpBy = (nodes: readonly string[]) => (e: ClusterEvent) => (e.type === 'kv' || e.type === 'query') && nodes.includes(e.from);
/** The emails the workers asked the mail provider to send (POST http://mail/send), answered or not. */
export const isEmailTry = (e: ClusterEvent) => (e.type === 'answered' || e.type === 'failed') && e.to === 'mail' && e.path === '/send';
