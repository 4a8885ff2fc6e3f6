/**
 * Evidence: a graded test names the events its assertion counts or checks, so that a replay of the
 * failed test can show them. Outside a recorded run (a lab served on ports, a unit test) nothing
 * listens and `evidence` does nothing; it never changes what a test sees or decides.
 */
import type { ClusterEvent, Metrics } from './metrics.ts';
import type { Topology } from './observation.ts';

/** The events an assertion is about: the very event objects (as a listener got them), or a test over each event. */
export type EvidenceMatch = readonly ClusterEvent[] | ((event: ClusterEvent) => boolean);

/** What a recorder sees of a cluster: enough to listen to it and to draw it. */
export interface WatchedCluster {
  readonly seed: number;
  readonly metrics: Metrics;
  topology(): Topology;
}

/** The graded run's recorder (set by the harness; nothing else should need it). */
export interface ClusterWatcher {
  clusterCreated(cluster: WatchedCluster): void;
  evidence(label: string, match: EvidenceMatch): void;
}

let watcher: ClusterWatcher | undefined;

/** Lets the harness's recorder see every cluster made from now on and every evidence call; `undefined` stops it. */
export function watchClusters(next: ClusterWatcher | undefined): void {
  watcher = next;
}

/** Called by each new cluster. */
export function announceCluster(cluster: WatchedCluster): void {
  watcher?.clusterCreated(cluster);
}

/**
 * Names the events an assertion is about, e.g. before `expect(served.of('app-2')).toBe(100)`:
 * `evidence('requests the balancer passed on', (e) => e.type === 'request' && e.from === 'lb')`.
 * A test over events applies to those that happened before the call.
 */
export function evidence(label: string, match: EvidenceMatch): void {
  if (typeof label !== 'string' || label.trim() === '') throw new TypeError('evidence(label, match): the label says in words what the events are, e.g. "requests the balancer passed on"');
  if (typeof match !== 'function' && !Array.isArray(match)) throw new TypeError('evidence(label, match): match is an array of events or a function that picks events');
  watcher?.evidence(label, match);
}
