/**
 * Observation, for a live picture of a cluster: its shape (`topology`) and what happened in it (a
 * bounded buffer of events). Events are built only while someone listens, so a run nobody watches
 * pays nothing for them.
 */
import type { ClusterEvent, Metrics } from './metrics.ts';
import type { NodeKind, NodeState } from './node.ts';

export interface Topology {
  nodes: { name: string; kind: NodeKind; role: string | undefined; region: string | undefined; state: NodeState }[];
  /** Senders outside the cluster: named clients, and `client` (tests, the load generator) once it sent. */
  clients: { name: string; region: string | undefined }[];
  /** Every pair that carried a call, with how many and how many failed. */
  links: { from: string; to: string; calls: number; failures: number }[];
}

/** The last `limit` events, oldest first, kept while the observation lasts. */
export class Observation {
  readonly limit: number;
  readonly #ring: ClusterEvent[] = [];
  #next = 0;
  #dropped = 0;
  readonly #stop: () => void;

  constructor(metrics: Metrics, limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`observe(): limit must be a whole number of events ≥ 1, not ${limit}`);
    this.limit = limit;
    this.#stop = metrics.on((event) => this.#keep(event));
  }

  #keep(event: ClusterEvent): void {
    if (this.#ring.length < this.limit) {
      this.#ring.push(event);
      return;
    }
    this.#ring[this.#next] = event;
    this.#next = (this.#next + 1) % this.limit;
    this.#dropped++;
  }

  /** The events kept, oldest first. */
  events(): ClusterEvent[] {
    return [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
  }

  /** How many older events were dropped to stay within the limit. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Stops keeping events (when no one else listens, the cluster stops building them). */
  stop(): void {
    this.#stop();
  }
}
