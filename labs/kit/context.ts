/**
 * The node context: everything a node's code may use (its name, time, randomness, the network and
 * the components), handed to its factory. Each life of a node gets a fresh context whose timers stop
 * when the node goes down.
 */
import { drawWork, type WorkCost } from './capacity.ts';
import type { Clock } from './clock.ts';
import type { QueueClient, TopicClient } from './components/queue.ts';
import type { CallOptions } from './failures.ts';
import { retarget } from './http.ts';
import type { KvClient } from './kv.ts';
import type { ClusterNode } from './node.ts';
import { deriveSeed, seededRandom } from './random.ts';
import type { SqlClient } from './sql.ts';

/** Everything a node may use: its name, time, randomness, and the rest of the cluster. */
export interface NodeContext {
  /** This node's host name, e.g. `app-1`. */
  readonly name: string;
  /** Milliseconds of this node's clock: cluster time, unless the test skewed it. Use instead of Date.now(). */
  now(): number;
  /** Waits `ms` of cluster time. Use instead of setTimeout in a promise. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms`; returns a cancel function. Stops when the node is killed. */
  setTimeout(fn: () => void, ms: number): () => void;
  /** Calls `fn` every `ms`; returns a stop function. Stops when the node is killed. */
  setInterval(fn: () => void, ms: number): () => void;
  /**
   * Spends CPU time on this node's cores: `ctx.work(5)`, or a seeded draw such as
   * `ctx.work({ distribution: 'exponential', mean: 5 })`. With every core busy, it waits its turn.
   */
  work(cost: WorkCost, signal?: AbortSignal): Promise<void>;
  /** A seeded number in [0, 1). Use instead of Math.random(). */
  random(): number;
  /** An AbortSignal that aborts after `ms` of cluster time. Use instead of AbortSignal.timeout(). */
  timeout(ms: number): AbortSignal;
  /** Sends a request to another node by host name: `ctx.fetch('http://app-1/health')`. Rejects if the node cannot be reached. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Sends a copy of `request` to another host, same path and body; `request` stays usable for a retry. */
  forward(request: Request, host: string, init?: { signal?: AbortSignal }): Promise<Response>;
  /** The cluster's key-value store named `kv`. */
  readonly kv: KvClient;
  /** The cluster's database named `db`. */
  readonly db: SqlClient;
  /**
   * A key-value store by name; with `{ timeout }` or `{ signal }`, each of its calls fails once the
   * time is up or the signal aborts: `ctx.store('kv', { timeout: 50 }).get(key)`.
   */
  store(name: string, limits?: CallOptions): KvClient;
  /** A database by name; `{ timeout }` or `{ signal }` limit each of its calls, as for `store`. */
  database(name: string, limits?: CallOptions): SqlClient;
  /** A queue by name (SQS semantics); `{ timeout }` or `{ signal }` limit each call. */
  queue(name: string, limits?: CallOptions): QueueClient;
  /** A topic by name: `publish` sends to every subscribed queue. */
  topic(name: string, limits?: CallOptions): TopicClient;
  /** Writes a line to the cluster's log, prefixed with this node's name. */
  log(...args: unknown[]): void;
}

/** What the cluster lends a context: time, the network, and a client for each component. */
export interface ContextServices {
  readonly clock: Clock;
  readonly seed: number;
  timeout(ms: number): AbortSignal;
  fetch(from: string, input: string | URL | Request, init?: RequestInit): Promise<Response>;
  store(from: string, name: string, limits?: CallOptions): KvClient;
  database(from: string, name: string, limits?: CallOptions): SqlClient;
  queue(from: string, name: string, limits?: CallOptions): QueueClient;
  topic(from: string, name: string, limits?: CallOptions): TopicClient;
  log(node: string, message: string): void;
}

/**
 * `client` whose every call fails once `life` ends: code of a node that went down (a handler still
 * awaiting something when it was killed) stops there instead of acting from beyond the grave.
 */
function tiedTo<T extends object>(client: T, life: AbortSignal): T {
  const tied: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(client)) {
    tied[key] = typeof value === 'function'
      ? (...args: unknown[]) => (life.aborted ? Promise.reject(life.reason) : (value as (...a: unknown[]) => unknown)(...args))
      : value;
  }
  return tied as T;
}

/** A fresh context for the current life of `node`. */
export function createContext(node: ClusterNode, services: ContextServices): NodeContext {
  const { clock } = services;
  const life = node.life;
  const random = seededRandom(deriveSeed(services.seed, `${node.name}#${node.generation}`));
  // Work draws its own stream, so adding ctx.work() does not change the node's ctx.random() numbers.
  const workRandom = seededRandom(deriveSeed(services.seed, `${node.name}#work#${node.generation}`));
  const owned = (cancel: () => void) => {
    life.addEventListener('abort', cancel, { once: true });
    return cancel;
  };
  let kv: KvClient | undefined;
  let db: SqlClient | undefined;
  return {
    name: node.name,
    now: () => node.localTime(clock.now()),
    sleep: (ms, signal) => clock.sleep(ms, signal ? AbortSignal.any([life, signal]) : life),
    setTimeout: (fn, ms) => owned(clock.setTimeout(fn, ms)),
    setInterval: (fn, ms) => owned(clock.setInterval(fn, ms)),
    work: (cost, signal) => node.work(drawWork(cost, workRandom), signal),
    random,
    timeout: (ms) => services.timeout(ms),
    fetch: (input, init) => (life.aborted ? Promise.reject(life.reason) : services.fetch(node.name, input, init)),
    forward: async (request, host, init) => services.fetch(node.name, await retarget(request, host), init?.signal ? { signal: init.signal } : undefined),
    get kv() {
      return (kv ??= tiedTo(services.store(node.name, 'kv'), life));
    },
    get db() {
      return (db ??= tiedTo(services.database(node.name, 'db'), life));
    },
    store: (name, limits) => tiedTo(services.store(node.name, name, limits), life),
    database: (name, limits) => tiedTo(services.database(node.name, name, limits), life),
    queue: (name, limits) => tiedTo(services.queue(node.name, name, limits), life),
    topic: (name, limits) => tiedTo(services.topic(node.name, name, limits), life),
    log: (...args) => services.log(node.name, args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
  };
}
