// Shared by the graded tests of this lab: a fresh cluster per test, readers in regions, and a record
// of which datacenter each reader's request went to.
import { onTestFailed } from 'vitest';
import { AWS_REGION_RTT, type Client, type Cluster, type ClusterEvent, type RegionMatrix } from '@scale-lab/kit';
import { DATACENTERS, READER_REGIONS, appServersOf, balancerOf, createMultiDatacenterCluster, homeOf, storeOf, type MultiDatacenterOptions } from '../starter/cluster.ts';

export { DATACENTERS, READER_REGIONS, appServersOf, balancerOf, homeOf, storeOf };

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export function multiDcCluster(options: MultiDatacenterOptions = {}): Cluster {
  const cluster = createMultiDatacenterCluster(options);
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}

/** The round trip between two regions in ms (a region to itself: 0, the link inside a region is 1 ms each way). */
export function roundTrip(a: string, b: string, matrix: RegionMatrix = AWS_REGION_RTT): number {
  return a === b ? 0 : (matrix[a]?.[b] ?? matrix[b]?.[a] ?? Infinity);
}

/** The datacenter with the shortest round trip from `region`. */
export function nearest(region: string, matrix: RegionMatrix = AWS_REGION_RTT, among: string[] = DATACENTERS): string {
  return [...among].sort((a, b) => roundTrip(region, a, matrix) - roundTrip(region, b, matrix))[0]!;
}

/** Where each client's requests went: the datacenter whose balancer each one was sent to. */
export function trackDatacenters(cluster: Cluster): { last(client: string): string | undefined } {
  const last = new Map<string, string>();
  cluster.metrics.on((event) => {
    if (event.type === 'sent' && event.to.startsWith('lb-') && !event.from.startsWith('app-') && !event.from.startsWith('dns-')) last.set(event.from, event.to.slice(3));
  });
  return { last: (client) => last.get(client) };
}

export interface Visit {
  status: number;
  ms: number;
  /** The datacenter the request went to, or "none" when the name did not resolve. */
  datacenter: string;
  body: Record<string, unknown>;
}

/** How long a reader waits for an answer before giving up (and counting the request as failed). */
export const READER_PATIENCE_MS = 3000;

/** One request from `client` to http://www/ (0 as status when no answer came within READER_PATIENCE_MS). */
export async function visit(cluster: Cluster, where: ReturnType<typeof trackDatacenters>, client: Client, path: string, init: { method?: string; body?: unknown } = {}): Promise<Visit> {
  const started = cluster.clock.now();
  let status = 0;
  let body: Record<string, unknown> = {};
  try {
    const res = await client.fetch(`http://www${path}`, { method: init.method ?? 'GET', body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: cluster.timeout(READER_PATIENCE_MS) });
    status = res.status;
    body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  } catch {
    status = 0;
  }
  return { status, ms: cluster.clock.now() - started, datacenter: where.last(client.name) ?? 'none', body };
}

/** The median. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

/** The value seen most often. */
export function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none';
}

/** Time for DNS servers to check every datacenter a few times before readers arrive. */
export const WARM_UP_MS = 2000;

/** A visit and when it was sent. */
export interface TimedVisit extends Visit {
  at: number;
  reader: string;
}

/**
 * Each reader visits `path` every `every` ms for `ms`, while `meanwhile` runs (faults on a schedule);
 * returns every visit, in the order they were sent.
 */
export async function keepVisiting(cluster: Cluster, readers: Client[], ms: number, meanwhile: () => Promise<void> = async () => {}, every = 500, path = '/boards/welcome'): Promise<TimedVisit[]> {
  const where = trackDatacenters(cluster);
  const visits: TimedVisit[] = [];
  const end = cluster.clock.now() + ms;
  await cluster.run(() => Promise.all([
    meanwhile(),
    ...readers.map(async (reader) => {
      while (cluster.clock.now() < end) {
        const at = cluster.clock.now();
        visits.push({ at, reader: reader.name, ...(await visit(cluster, where, reader, path)) });
        await cluster.sleep(Math.max(0, every - (cluster.clock.now() - at)));
      }
    }),
  ]));
  return visits.sort((a, b) => a.at - b.at);
}

/** Kills (or revives) a datacenter: its balancer, app servers and store. */
export function killDatacenter(cluster: Cluster, region: string): void {
  for (const name of [balancerOf(region), ...appServersOf(region), storeOf(region)]) cluster.kill(name);
}
export function reviveDatacenter(cluster: Cluster, region: string): void {
  for (const name of [balancerOf(region), ...appServersOf(region), storeOf(region)]) cluster.revive(name);
}

/** "12 of 150". */
export const share = (part: number, whole: number) => `${part} of ${whole}`;

/** An HTTP call as its caller saw it: answered or failed. */
export type Call = Extract<ClusterEvent, { type: 'answered' | 'failed' }>;
export const isCall = (event: ClusterEvent): event is Call => event.type === 'answered' || event.type === 'failed';

/** The calls `clients` made (answered or failed) sent at `since` or later: the visits an assertion counts, for evidence. */
export function callsFrom(clients: Iterable<string>, since = -Infinity): (event: ClusterEvent) => boolean {
  const names = new Set(clients);
  return (event) => isCall(event) && names.has(event.from) && event.start >= since;
}
