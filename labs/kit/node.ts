/**
 * What every node of the cluster has, whatever it runs: a name, a state, and a life that ends when
 * it is killed. The components (HTTP node, key-value store, database) extend it.
 */
import type { Capacity } from './capacity.ts';
import type { Clock } from './clock.ts';
import { NetworkError } from './failures.ts';
import type { Metrics } from './metrics.ts';
import type { Network } from './network.ts';

/**
 * - `up`: runs normally;
 * - `killed`: down: connections refused, requests it was handling reset;
 * - `failing`: an HTTP node answering 5xx without running its code;
 * - `slow`: every answer leaves late;
 * - `hung`: accepts connections and never answers, until it recovers.
 */
export type NodeState = 'up' | 'killed' | 'failing' | 'slow' | 'hung';

/** The kinds of node a cluster can hold; each is one component file. */
export type NodeKind = 'http' | 'kv' | 'db' | 'queue' | 'topic';

export abstract class ClusterNode {
  abstract readonly kind: NodeKind;
  readonly name: string;
  /** Its cores, backlog and connection limit. */
  readonly capacity: Capacity;
  state: NodeState = 'up';
  /** How many times the node was revived; seeds a fresh random stream for each life. */
  generation = 0;
  /** Extra ms every answer waits while the node is `slow`. */
  delay = 0;
  /** Clock skew: `ctx.now()` reads true time + offset + drift × (true time − since). */
  skew = { offset: 0, drift: 0, since: 0 };
  #life = new AbortController();
  /** Settles when a hung node recovers (or goes down). */
  #unhung: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(name: string, capacity: Capacity) {
    this.name = name;
    this.capacity = capacity;
  }

  /** Spends `ms` of CPU on this node's cores; stops (rejects) if the node goes down. */
  work(ms: number, signal?: AbortSignal): Promise<void> {
    return this.capacity.work(ms, signal ? AbortSignal.any([this.life, signal]) : this.life);
  }

  /** Aborted when the node goes down: in-flight requests to it are reset, its timers stop. */
  get life(): AbortSignal {
    return this.#life.signal;
  }

  /** Takes the node down; false if it already was. */
  kill(): boolean {
    if (this.state === 'killed') return false;
    this.#clearFault();
    this.state = 'killed';
    this.#life.abort(new NetworkError('reset', `connection reset: ${this.name} went down`));
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

  /** What this node's own clock reads at true time `now`. */
  localTime(now: number): number {
    const { offset, drift, since } = this.skew;
    return now + offset + drift * (now - since);
  }

  /** Makes every answer leave `ms` late. */
  slow(ms: number): void {
    if (!(ms >= 0)) throw new Error(`slow(): the delay must be a number of ms, not ${ms}.`);
    this.#clearFault();
    this.state = 'slow';
    this.delay = ms;
  }

  /** Accepts connections and never answers: requests, and answers already on their way out, wait. */
  hang(): void {
    if (this.state === 'hung') return;
    this.#clearFault();
    this.state = 'hung';
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this.#unhung = { promise, resolve };
  }

  /** While hung, a promise that settles when the node answers again; undefined otherwise. */
  get unhung(): Promise<void> | undefined {
    return this.#unhung?.promise;
  }

  /** Ends `fail`, `slow` or `hang`: the node runs normally again, its memory intact. False if it had no such fault. */
  recover(): boolean {
    if (this.state === 'up' || this.state === 'killed') return false;
    this.#clearFault();
    this.state = 'up';
    return true;
  }

  #clearFault(): void {
    this.delay = 0;
    this.#unhung?.resolve();
    this.#unhung = undefined;
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
