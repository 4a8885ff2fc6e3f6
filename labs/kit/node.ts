/**
 * What every node of the cluster has, whatever it runs: a name, a state, and a life that ends when
 * it is killed. The components (HTTP node, key-value store, database) extend it.
 */
import type { Clock } from './clock.ts';
import type { Metrics } from './metrics.ts';
import type { Network } from './network.ts';

/** `up`, `killed`, or `failing` (an HTTP node answering 5xx without running its code). */
export type NodeState = 'up' | 'killed' | 'failing';

/** The kinds of node a cluster can hold; each is one component file. */
export type NodeKind = 'http' | 'kv' | 'db';

export abstract class ClusterNode {
  abstract readonly kind: NodeKind;
  readonly name: string;
  state: NodeState = 'up';
  /** How many times the node was revived; seeds a fresh random stream for each life. */
  generation = 0;
  #life = new AbortController();

  constructor(name: string) {
    this.name = name;
  }

  /** Aborted when the node goes down: in-flight requests to it are reset, its timers stop. */
  get life(): AbortSignal {
    return this.#life.signal;
  }

  /** Takes the node down; false if it already was. */
  kill(): boolean {
    if (this.state === 'killed') return false;
    this.state = 'killed';
    this.#life.abort(new TypeError(`connection reset: ${this.name} went down`));
    return true;
  }

  /** Brings a killed node back with a new life; false if it was not down. */
  revive(): boolean {
    if (this.state !== 'killed') return false;
    this.generation++;
    this.#life = new AbortController();
    this.state = 'up';
    this.started();
    return true;
  }

  /** Called after a revive; an HTTP node runs its factory again here. */
  protected started(): void {}
}

/** What a component needs from its cluster: the clock, the network, the counters and the log. */
export interface NodeEnv {
  readonly clock: Clock;
  readonly network: Network;
  readonly metrics: Metrics;
  log(node: string, message: string): void;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
