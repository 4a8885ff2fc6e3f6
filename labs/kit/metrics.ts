/**
 * Per-node counters that graded tests assert on, also emitted as events for a live view.
 * A node's record holds what it served (requests, errors, latency) and what it used
 * (queries it sent, key-value reads it made and whether they hit), and its capacity's gauges.
 */
import type { CapacityMetrics } from './capacity.ts';
import type { FailureKind } from './failures.ts';

export interface NodeMetrics extends CapacityMetrics {
  /** HTTP requests this node received (HTTP nodes), or operations it served (store, database). */
  requests: number;
  /** Requests answered with a 5xx status or a thrown error. */
  errors: number;
  /** Requests being handled right now. */
  inFlight: number;
  /** Time each request took to handle here, in ms of the cluster's clock. */
  latencies: number[];
  /** SQL statements: received (database nodes) or sent (every other node). */
  queries: number;
  /** Key-value operations: received (store) or sent (every other node). */
  kvOps: number;
  /** Key-value reads (GET, MGET): received (store) or sent. */
  kvReads: number;
  /** Reads that found a value, in a store declared a cache; answers from an HTTP cache (edge, client). */
  cacheHits: number;
  /** Reads that found nothing, in a store declared a cache; HTTP cache misses. */
  cacheMisses: number;
  /** A replicated database's member: last log position received (a primary: its last commit); else null. */
  received: number | null;
  /** Last log position applied to its data; null outside replication. */
  applied: number | null;
  /** A replica's lag in ms (see ReplicaStatus); 0 on a primary; null outside replication. */
  lag: number | null;
}

export type ClusterEvent =
  | { type: 'request'; at: number; from: string; node: string; method: string; path: string; status: number; latency: number }
  /** A request left `from` for `to` (every HTTP call: clients, balancers, edges). */
  | { type: 'sent'; at: number; from: string; to: string; method: string; path: string }
  /** Its answer came back to `from`. */
  | { type: 'answered'; at: number; from: string; to: string; method: string; path: string; status: number; start: number; end: number }
  /** It got no answer: `kind` says why (refused, reset, timeout, unknown-host), or undefined for another error. */
  | { type: 'failed'; at: number; from: string; to: string; method: string; path: string; kind: FailureKind | undefined; message: string; start: number; end: number }
  | { type: 'query'; at: number; from: string; node: string; sql: string }
  | { type: 'kv'; at: number; from: string; node: string; command: string; key: string; hit?: boolean }
  | { type: 'node'; at: number; node: string; state: 'up' | 'killed' | 'failing' | 'slow' | 'hung' | 'restarted' }
  | { type: 'log'; at: number; node: string; message: string }
  /** A replica's positions moved: `received` from its primary's log, `applied` to its data. */
  | { type: 'replication'; at: number; node: string; primary: string; received: number; applied: number }
  | { type: 'promotion'; at: number; node: string; previous: string }
  /**
   * A queue took in, handed out, deleted or dead-lettered message `id`; `by` is the node that asked (for
   * a dead-letter queue, the queue that redrove it; none when a test put the message there).
   */
  | { type: 'queue'; at: number; node: string; op: 'send' | 'receive' | 'delete' | 'dead-letter'; id: string; by?: string }
  /** An HTTP cache answered: an edge node, or a client's private cache (`node` is the client). */
  | { type: 'cache'; at: number; node: string; key: string; outcome: 'hit' | 'stale' | 'revalidated' | 'miss' | 'pass' };

/** Something that reports capacity gauges for a node (its Capacity). */
export interface Gauge {
  metrics(): Partial<NodeMetrics>;
  resetWindow(): void;
}

export type ClusterEventListener = (event: ClusterEvent) => void;

function emptyMetrics(): NodeMetrics {
  return {
    requests: 0, errors: 0, inFlight: 0, latencies: [], queries: 0, kvOps: 0, kvReads: 0, cacheHits: 0, cacheMisses: 0,
    cores: null, busyTime: 0, utilisation: null, queued: 0, maxQueued: 0, connections: 0, refused: 0,
    received: null, applied: null, lag: null,
  };
}

/** The value below which `p` percent of the samples fall (nearest-rank). 0 with no samples. */
export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted([...samples].sort((a, b) => a - b), p);
}

/** `percentile` of samples already sorted in ascending order (sort once, read several). */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export class Metrics {
  readonly #nodes = new Map<string, NodeMetrics>();
  readonly #listeners = new Set<ClusterEventListener>();
  readonly #gauges = new Map<string, Gauge[]>();

  /** The live record of one node (created empty on first use). */
  of(node: string): NodeMetrics {
    let m = this.#nodes.get(node);
    if (!m) {
      m = emptyMetrics();
      this.#nodes.set(node, m);
    }
    return m;
  }

  /** Reads a node's gauges (its capacity) into every copy of its counters; they restart on reset(). */
  track(node: string, gauge: Gauge): void {
    this.#gauges.set(node, [...(this.#gauges.get(node) ?? []), gauge]);
    this.of(node);
  }

  /** A copy of one node's counters, safe to keep while the cluster runs on. */
  node(node: string): NodeMetrics {
    const m = this.of(node);
    const copy: NodeMetrics = { ...m, latencies: [...m.latencies] };
    for (const gauge of this.#gauges.get(node) ?? []) Object.assign(copy, gauge.metrics());
    return copy;
  }

  /** Copies of every node's counters, by node name, in name order. */
  all(): Record<string, NodeMetrics> {
    const out: Record<string, NodeMetrics> = {};
    for (const name of [...this.#nodes.keys()].sort()) out[name] = this.node(name);
    return out;
  }

  /** Zeroes every counter (requests in flight stay counted). */
  reset(): void {
    for (const [name, m] of this.#nodes) this.#nodes.set(name, { ...emptyMetrics(), inFlight: m.inFlight });
    for (const gauges of this.#gauges.values()) for (const gauge of gauges) gauge.resetWindow();
  }

  /** Subscribes to every event; returns the unsubscribe function. */
  on(listener: ClusterEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether anyone listens: emitters build an event only then, so an unobserved run pays nothing. */
  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  emit(event: ClusterEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
