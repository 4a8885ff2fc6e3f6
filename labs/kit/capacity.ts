/**
 * What a node can take at once: cores that CPU work queues for, an accept backlog, and a limit on
 * open connections. A node without limits (the default) behaves as before capacity existed: work
 * costs its time, in parallel without bound, and nothing is refused.
 */
import type { Clock } from './clock.ts';

export interface CapacityOptions {
  /** Cores that run CPU work (`ctx.work`, a database's statements), one piece at a time each. Default: unlimited. */
  cores?: number;
  /** Most requests that may wait for a core at once; one arriving when that many wait is refused at once. Default: unlimited. */
  backlog?: number;
  /** Most connections open at once (a request in flight, or a database transaction); over it a call is refused at once. Default: unlimited. */
  maxConnections?: number;
}

/** How long a piece of CPU work takes: a fixed time, or drawn from a seeded distribution. */
export type WorkCost =
  | number
  | { distribution: 'exponential'; mean: number }
  | { distribution: 'uniform'; min: number; max: number }
  /** Long-tailed, like most service times: half the draws below `median`, 99 % below `p99`. */
  | { distribution: 'lognormal'; median: number; p99: number };

/** A draw of `cost` in ms, using `random` for distributions. */
export function drawWork(cost: WorkCost, random: () => number): number {
  if (typeof cost === 'number') {
    if (!(cost >= 0)) throw new Error(`work(): the time must be a number of ms, not ${cost}.`);
    return cost;
  }
  switch (cost.distribution) {
    case 'exponential':
      return -Math.log(1 - random()) * cost.mean;
    case 'uniform':
      return cost.min + random() * (cost.max - cost.min);
    case 'lognormal': {
      // p99 = median · e^(z·σ) with z = 2.3263 (the standard normal's 99th percentile).
      const sigma = Math.log(cost.p99 / cost.median) / 2.3263478740408408;
      return cost.median * Math.exp(sigma * normal(random));
    }
    default:
      throw new Error(`work(): unknown distribution ${JSON.stringify(cost)}; use a number of ms, exponential, uniform or lognormal.`);
  }
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

interface Waiting {
  ms: number;
  start: () => void;
}

/** Counters of a node's capacity, as the metrics show them. */
export interface CapacityMetrics {
  /** Cores, or null when unlimited. */
  cores: number | null;
  /** Core-ms of CPU work done since the metrics were reset (also counted when cores are unlimited). */
  busyTime: number;
  /** Share of the cores' time spent working since the metrics were reset, in [0, 1]; null when cores are unlimited. */
  utilisation: number | null;
  /** Pieces of work waiting for a core right now. */
  queued: number;
  /** The longest the queue got since the metrics were reset. */
  maxQueued: number;
  /** Connections open right now. */
  connections: number;
  /** Connections refused (backlog full or too many connections) since the metrics were reset. */
  refused: number;
}

export class Capacity {
  readonly cores: number;
  readonly backlog: number;
  readonly maxConnections: number;
  readonly #clock: Clock;
  readonly #queue: Waiting[] = [];
  #busy = 0;
  /** Core-ms worked up to #since, plus the cores busy since then. */
  #busyTime = 0;
  #since = 0;
  #windowStart = 0;
  #maxQueued = 0;
  #connections = 0;
  #refused = 0;

  constructor(clock: Clock, options: CapacityOptions = {}) {
    this.#clock = clock;
    this.cores = positive(options.cores, 'cores');
    this.backlog = positive(options.backlog, 'backlog', 0);
    this.maxConnections = positive(options.maxConnections, 'maxConnections');
    this.#since = this.#windowStart = clock.now();
  }

  get limited(): boolean {
    return Number.isFinite(this.cores);
  }

  /** Spends `ms` of CPU: at once on a free core, else after the work queued before it. */
  work(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let cancelRun: (() => void) | undefined;
      const onAbort = () => {
        const at = this.#queue.indexOf(waiting);
        if (at >= 0) this.#queue.splice(at, 1);
        if (cancelRun) {
          cancelRun();
          this.#release();
        }
        reject(signal!.reason);
      };
      const waiting: Waiting = {
        ms,
        start: () => {
          this.#account(+1);
          cancelRun = this.#clock.setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            this.#release();
            resolve();
          }, ms);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.#busy < this.cores) waiting.start();
      else {
        this.#queue.push(waiting);
        this.#maxQueued = Math.max(this.#maxQueued, this.#queue.length);
      }
    });
  }

  #account(delta: number): void {
    const now = this.#clock.now();
    this.#busyTime += this.#busy * (now - this.#since);
    this.#since = now;
    this.#busy += delta;
  }

  #release(): void {
    this.#account(-1);
    const next = this.#queue.shift();
    if (next) next.start();
  }

  /**
   * Takes a connection for one call, or says why it is refused (backlog full, too many
   * connections). The caller releases it when the answer has left.
   */
  admit(): { release: () => void } | { refused: string } {
    if (this.#connections >= this.maxConnections) {
      this.#refused++;
      return { refused: `too many connections: all ${this.maxConnections} are in use` };
    }
    if (this.#queue.length >= this.backlog) {
      this.#refused++;
      return { refused: `backlog full: ${this.#queue.length} requests already wait for a core` };
    }
    this.#connections++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#connections--;
      },
    };
  }

  /** Starts a new measuring window (metrics reset). */
  resetWindow(): void {
    this.#account(0);
    this.#busyTime = 0;
    this.#windowStart = this.#clock.now();
    this.#maxQueued = this.#queue.length;
    this.#refused = 0;
  }

  metrics(): CapacityMetrics {
    this.#account(0);
    const elapsed = this.#clock.now() - this.#windowStart;
    return {
      cores: this.limited ? this.cores : null,
      busyTime: this.#busyTime,
      utilisation: !this.limited ? null : elapsed > 0 ? this.#busyTime / (this.cores * elapsed) : 0,
      queued: this.#queue.length,
      maxQueued: this.#maxQueued,
      connections: this.#connections,
      refused: this.#refused,
    };
  }
}

/** A positive whole number from an option, or `fallback` (unlimited) when absent. */
function positive(value: number | undefined, name: string, min = 1): number {
  if (value === undefined) return Infinity;
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number of at least ${min}, not ${value}.`);
  return value;
}
