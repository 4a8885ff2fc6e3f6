/**
 * The cluster: named nodes on an in-memory network, driven by one clock.
 *
 * A node is a web-standard handler built by a factory, so that restarting a node runs the factory
 * again and really wipes its memory. Nodes reach each other with `ctx.fetch('http://app-1/…')`;
 * the network adds latency, drops, refusals and partitions on the way. The key-value store and the
 * databases are nodes too, reached through `ctx.kv` and `ctx.db`, each call a round trip with a cost.
 */
import { RealClock, VirtualClock, settle, type Clock } from './clock.ts';
import { KeyValueStore, kvClient, type KvClient } from './kv.ts';
import { Metrics } from './metrics.ts';
import { deriveSeed, seededRandom } from './random.ts';
import { retarget } from './http.ts';
import { SqlDatabase, type SqlClient, type SqlValue } from './sql.ts';
import { generateLoad, type LoadOptions, type LoadReport } from './load.ts';

/** Everything a node may use: its name, time, randomness, and the rest of the cluster. */
export interface NodeContext {
  /** This node's host name, e.g. `app-1`. */
  readonly name: string;
  /** Milliseconds of cluster time: virtual under test, real when served on ports. Use instead of Date.now(). */
  now(): number;
  /** Waits `ms` of cluster time. Use instead of setTimeout in a promise. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms`; returns a cancel function. Stops when the node is killed. */
  setTimeout(fn: () => void, ms: number): () => void;
  /** Calls `fn` every `ms`; returns a stop function. Stops when the node is killed. */
  setInterval(fn: () => void, ms: number): () => void;
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
  /** A key-value store by name. */
  store(name: string): KvClient;
  /** A database by name. */
  database(name: string): SqlClient;
  /** Writes a line to the cluster's log, prefixed with this node's name. */
  log(...args: unknown[]): void;
}

/** A node: answers requests the way `fetch` handlers do in Hono, Workers or Deno.serve. */
export type Handler = (req: Request, ctx: NodeContext) => Response | Promise<Response>;
/** Builds a node's handler; run again on every restart, so anything it keeps in memory is wiped. */
export type NodeFactory = (ctx: NodeContext) => Handler;

export interface ClusterOptions {
  /** Seed of every random number in the cluster (default 1): the same seed replays the same run. */
  seed?: number;
  /** `virtual` (default): time moves only when driven, deterministic. `real`: wall-clock time, for serving on ports. */
  clock?: 'virtual' | 'real';
  /** One-way latency of every link in ms, unless a link says otherwise (default 0). */
  latency?: number;
  /** How long a request lost in a partition hangs before failing, when its caller set no timeout (default 30,000 ms). */
  networkTimeout?: number;
  /** Longest a single `run` may drive virtual time before it is stopped as a runaway (default 1 hour). */
  maxRunTime?: number;
}

export interface LinkOptions {
  /** One-way latency in ms. */
  latency?: number;
  /** Probability in [0, 1] that a request on this link is lost (it hangs until its timeout). */
  drop?: number;
}

/** The name requests from a test or the load generator come from. */
export const CLIENT = 'client';

type NodeState = 'up' | 'killed' | 'failing';

interface NodeRecord {
  name: string;
  kind: 'http' | 'kv' | 'db';
  state: NodeState;
  failStatus: number;
  generation: number;
  /** Aborted when the node goes down: in-flight requests to it are reset, its timers stop. */
  life: AbortController;
  factory?: NodeFactory;
  handler?: Handler;
  ctx?: NodeContext;
  store?: KeyValueStore;
  database?: SqlDatabase;
  /** Time one operation of a store or database costs, in ms. */
  cost: number;
}

/** How a request crosses the last hop: in memory by default, over real HTTP when served on ports. */
export interface Transport {
  send(to: string, request: Request, from: string): Promise<Response>;
}

const HOST_NAME = /^[a-z][a-z0-9-]*$/;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Cluster {
  readonly seed: number;
  readonly clock: Clock;
  readonly metrics = new Metrics();
  readonly #virtual: VirtualClock | undefined;
  readonly #nodes = new Map<string, NodeRecord>();
  readonly #links = new Map<string, LinkOptions>();
  readonly #networkRandom: () => number;
  readonly #networkTimeout: number;
  readonly #maxRunTime: number;
  #defaultLatency: number;
  #partition: string[][] | undefined;
  #driving = false;
  #transport: Transport | undefined;

  constructor(options: ClusterOptions = {}) {
    this.seed = options.seed ?? 1;
    this.#virtual = options.clock === 'real' ? undefined : new VirtualClock();
    this.clock = this.#virtual ?? new RealClock();
    this.#defaultLatency = options.latency ?? 0;
    this.#networkTimeout = options.networkTimeout ?? 30_000;
    this.#maxRunTime = options.maxRunTime ?? 3_600_000;
    this.#networkRandom = seededRandom(deriveSeed(this.seed, '#network'));
  }

  // ---- building the cluster ------------------------------------------------------------------

  #add(name: string, kind: NodeRecord['kind'], cost: number): NodeRecord {
    if (!HOST_NAME.test(name)) throw new Error(`Node name "${name}" is not a host name: use lower-case letters, digits and dashes, like "app-1".`);
    if (name === CLIENT || this.#nodes.has(name)) throw new Error(`The cluster already has a node named "${name}".`);
    const node: NodeRecord = { name, kind, state: 'up', failStatus: 500, generation: 0, life: new AbortController(), cost };
    this.#nodes.set(name, node);
    this.metrics.of(name);
    return node;
  }

  /** Adds an HTTP node built by `factory`. */
  addNode(name: string, factory: NodeFactory): this {
    const node = this.#add(name, 'http', 0);
    node.factory = factory;
    this.#start(node);
    return this;
  }

  /** Adds a key-value store; `cost` is the time one command takes there (default 0.5 ms). */
  addStore(name = 'kv', options: { cost?: number } = {}): KeyValueStore {
    const node = this.#add(name, 'kv', options.cost ?? 0.5);
    node.store = new KeyValueStore(() => this.clock.now());
    return node.store;
  }

  /** Adds a SQLite database with `setup` run in it; `cost` is the time one statement takes (default 5 ms). */
  async addDatabase(name = 'db', options: { setup?: string; cost?: number } = {}): Promise<SqlDatabase> {
    const node = this.#add(name, 'db', options.cost ?? 5);
    try {
      node.database = await SqlDatabase.create(options.setup);
    } catch (err) {
      this.#nodes.delete(name);
      throw err;
    }
    return node.database;
  }

  /** Direct access to a store's data, for tests and scenarios: no cost, no network, not counted. */
  store(name = 'kv'): KeyValueStore {
    const store = this.#nodes.get(name)?.store;
    if (!store) throw new Error(`This cluster has no key-value store named "${name}".`);
    return store;
  }

  /** Direct access to a database, for tests and scenarios: no cost, no network, not counted. */
  database(name = 'db'): SqlDatabase {
    const database = this.#nodes.get(name)?.database;
    if (!database) throw new Error(`This cluster has no database named "${name}".`);
    return database;
  }

  /** Names of every node, in the order they were added. */
  get nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Names of the HTTP nodes (not stores or databases), in the order they were added. */
  get httpNodeNames(): string[] {
    return [...this.#nodes.values()].filter((n) => n.kind === 'http').map((n) => n.name);
  }

  /** `up`, `killed` or `failing`. */
  stateOf(name: string): NodeState {
    return this.#node(name).state;
  }

  #node(name: string): NodeRecord {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`This cluster has no node named "${name}" (nodes: ${this.nodeNames.join(', ')}).`);
    return node;
  }

  #start(node: NodeRecord): void {
    node.ctx = this.#context(node);
    try {
      node.handler = node.factory!(node.ctx);
    } catch (err) {
      throw new Error(`${node.name} failed to start: ${messageOf(err)}`, { cause: err });
    }
    if (typeof node.handler !== 'function') {
      throw new Error(`${node.name} failed to start: its factory must return a handler function (req, ctx) => Response, not ${typeof node.handler}.`);
    }
  }

  // ---- faults --------------------------------------------------------------------------------

  /** Stops a node: connections are refused, requests it was handling are reset, its timers stop. */
  kill(name: string): void {
    const node = this.#node(name);
    if (node.state === 'killed') return;
    node.state = 'killed';
    node.life.abort(new TypeError(`connection reset: ${name} went down`));
    this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'killed' });
  }

  /** Starts a killed node again. An HTTP node starts fresh: its factory runs again, memory wiped. */
  revive(name: string): void {
    const node = this.#node(name);
    if (node.state !== 'killed') return;
    node.generation++;
    node.life = new AbortController();
    node.state = 'up';
    if (node.factory) this.#start(node);
    this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'restarted' });
  }

  /** Kills and revives a node: an HTTP node loses everything it kept in memory. */
  restart(name: string): void {
    this.kill(name);
    this.revive(name);
  }

  /** Makes an HTTP node answer every request with `status` (default 500) without running its code. */
  fail(name: string, status = 500): void {
    const node = this.#node(name);
    if (node.kind !== 'http') throw new Error(`fail() applies to HTTP nodes; ${name} is a ${node.kind === 'kv' ? 'key-value store' : 'database'}: use kill().`);
    node.state = 'failing';
    node.failStatus = status;
    this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'failing' });
  }

  /** Ends `fail()`: the node runs its own code again, with its memory intact. */
  recover(name: string): void {
    const node = this.#node(name);
    if (node.state !== 'failing') return;
    node.state = 'up';
    this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'up' });
  }

  /** Sets latency or loss on the link between two nodes, both ways. */
  link(a: string, b: string, options: LinkOptions): void {
    for (const key of [`${a}>${b}`, `${b}>${a}`]) this.#links.set(key, { ...this.#links.get(key), ...options });
  }

  /** Sets the one-way latency of every link that has none of its own. */
  setLatency(ms: number): void {
    this.#defaultLatency = ms;
  }

  /** Splits the network: nodes talk only within their group. Nodes not named form one more group. */
  partition(...groups: string[][]): void {
    this.#partition = groups.map((g) => [...g]);
  }

  /** Ends a partition. */
  heal(): void {
    this.#partition = undefined;
  }

  #groupOf(name: string): number {
    return this.#partition!.findIndex((g) => g.includes(name));
  }

  #latency(from: string, to: string): number {
    return this.#links.get(`${from}>${to}`)?.latency ?? this.#defaultLatency;
  }

  #lost(from: string, to: string): boolean {
    if (this.#partition && this.#groupOf(from) !== this.#groupOf(to)) return true;
    const drop = this.#links.get(`${from}>${to}`)?.drop ?? 0;
    return drop > 0 && this.#networkRandom() < drop;
  }

  // ---- the network ---------------------------------------------------------------------------

  /** Carries one call from `from` to `to` and its answer back, with everything the network does on the way. */
  async #deliver<T>(from: string, to: string, signal: AbortSignal | undefined, serve: (node: NodeRecord) => Promise<T>): Promise<T> {
    const node = this.#nodes.get(to);
    if (!node) throw new TypeError(`${from} → ${to}: no node named "${to}" in this cluster (nodes: ${this.nodeNames.join(', ')})`);
    signal?.throwIfAborted();
    if (this.#lost(from, to)) {
      // A lost request is never answered: the caller waits until its own timeout, or the network's.
      await this.clock.sleep(this.#networkTimeout, signal);
      throw new TypeError(`${from} → ${to}: no answer after ${this.#networkTimeout} ms (the request was lost: partition or dropped packet)`);
    }
    const there = this.#latency(from, to);
    if (there > 0) await this.clock.sleep(there, signal);
    if (node.state === 'killed') throw new TypeError(`${from} → ${to}: connection refused (${to} is down)`);
    const life = node.life.signal;
    const answer = await raceAbort(serve(node), life, signal);
    const back = this.#latency(to, from);
    if (back > 0) await this.clock.sleep(back, signal);
    life.throwIfAborted();
    return answer;
  }

  /** Runs a node's handler on a request and counts it; used by in-memory delivery and by the node:http adapter. */
  async handle(name: string, request: Request, from: string = CLIENT): Promise<Response> {
    const node = this.#node(name);
    if (node.kind !== 'http') throw new TypeError(`${from} → ${name}: ${name} is not an HTTP node; use ctx.kv or ctx.db`);
    const m = this.metrics.of(name);
    const start = this.clock.now();
    m.requests++;
    m.inFlight++;
    let response: Response;
    try {
      if (node.state === 'failing') {
        response = new Response(`${name} is failing (injected fault)`, { status: node.failStatus });
      } else {
        const result: unknown = await node.handler!(request, node.ctx!);
        response = result instanceof Response
          ? result
          : new Response(`${name}: the handler returned ${result === undefined ? 'nothing' : typeof result}, not a Response`, { status: 500 });
      }
    } catch (err) {
      this.log(name, `error: ${messageOf(err)}`);
      response = new Response(`${name}: ${messageOf(err)}`, { status: 500 });
    } finally {
      m.inFlight--;
    }
    const latency = this.clock.now() - start;
    m.latencies.push(latency);
    if (response.status >= 500) m.errors++;
    const url = new URL(request.url);
    this.metrics.emit({ type: 'request', at: this.clock.now(), from, node: name, method: request.method, path: url.pathname, status: response.status, latency });
    return response;
  }

  /** Replaces in-memory delivery of HTTP requests (the node:http adapter does this). */
  useTransport(transport: Transport | undefined): void {
    this.#transport = transport;
  }

  #send(from: string, request: Request, signal: AbortSignal | undefined): Promise<Response> {
    const to = new URL(request.url).hostname;
    return this.#deliver(from, to, signal, (node) => {
      if (node.kind !== 'http') throw new TypeError(`${from} → ${to}: ${to} is not an HTTP node; use ctx.kv or ctx.db`);
      return this.#transport ? this.#transport.send(to, request, from) : this.handle(to, request, from);
    });
  }

  #fetchFrom(from: string, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let request: Request;
    try {
      request = input instanceof Request && init === undefined ? input : new Request(input, init);
    } catch (err) {
      return Promise.reject(new TypeError(`${from}: bad request to ${String(input)}: ${messageOf(err)}`));
    }
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    return this.#send(from, request, signal);
  }

  #kvCall(from: string, storeName: string): KvClient {
    const node = this.#nodes.get(storeName);
    if (node?.kind !== 'kv') throw new Error(`${from}: this cluster has no key-value store named "${storeName}".`);
    const call = <T>(command: string, key: string, run: () => T): Promise<T> =>
      this.#deliver(from, storeName, undefined, async (n) => {
        if (n.cost > 0) await this.clock.sleep(n.cost);
        const result = run();
        const served = this.metrics.of(storeName);
        const caller = this.metrics.of(from);
        served.requests++;
        for (const m of [served, caller]) m.kvOps++;
        let hit: boolean | undefined;
        if (command === 'GET') {
          hit = result !== null;
          for (const m of [served, caller]) {
            m.kvReads++;
            if (hit) m.cacheHits++;
            else m.cacheMisses++;
          }
        }
        this.metrics.emit({ type: 'kv', at: this.clock.now(), from, node: storeName, command, key, hit });
        return result;
      });
    return kvClient(call, node.store!);
  }

  #sqlCall(from: string, dbName: string): SqlClient {
    const node = this.#nodes.get(dbName);
    if (node?.kind !== 'db') throw new Error(`${from}: this cluster has no database named "${dbName}".`);
    const call = <T>(sql: string, run: () => T): Promise<T> =>
      this.#deliver(from, dbName, undefined, async (n) => {
        if (n.cost > 0) await this.clock.sleep(n.cost);
        this.metrics.of(dbName).requests++;
        this.metrics.of(dbName).queries++;
        this.metrics.of(from).queries++;
        this.metrics.emit({ type: 'query', at: this.clock.now(), from, node: dbName, sql });
        return run();
      });
    return {
      query: <T>(sql: string, params?: SqlValue[]) => call(sql, () => node.database!.query<T>(sql, params)),
      run: (sql: string, params?: SqlValue[]) => call(sql, () => node.database!.run(sql, params)),
    };
  }

  #context(node: NodeRecord): NodeContext {
    const cluster = this;
    const clock = this.clock;
    const life = node.life.signal;
    const random = seededRandom(deriveSeed(this.seed, `${node.name}#${node.generation}`));
    const owned = (cancel: () => void) => {
      life.addEventListener('abort', cancel, { once: true });
      return cancel;
    };
    let kv: KvClient | undefined;
    let db: SqlClient | undefined;
    return {
      name: node.name,
      now: () => clock.now(),
      sleep: (ms, signal) => clock.sleep(ms, signal),
      setTimeout: (fn, ms) => owned(clock.setTimeout(fn, ms)),
      setInterval: (fn, ms) => owned(clock.setInterval(fn, ms)),
      random,
      timeout: (ms) => cluster.timeout(ms),
      fetch: (input, init) => (life.aborted ? Promise.reject(life.reason) : cluster.#fetchFrom(node.name, input, init)),
      forward: async (request, host, init) => cluster.#fetchFrom(node.name, await retarget(request, host), init?.signal ? { signal: init.signal } : undefined),
      get kv() {
        return (kv ??= cluster.#kvCall(node.name, 'kv'));
      },
      get db() {
        return (db ??= cluster.#sqlCall(node.name, 'db'));
      },
      store: (name) => cluster.#kvCall(node.name, name),
      database: (name) => cluster.#sqlCall(node.name, name),
      log: (...args) => cluster.log(node.name, args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
    };
  }

  // ---- driving time --------------------------------------------------------------------------

  /** An AbortSignal that aborts after `ms` of cluster time. */
  timeout(ms: number): AbortSignal {
    const controller = new AbortController();
    this.clock.setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
    return controller.signal;
  }

  log(node: string, message: string): void {
    this.metrics.emit({ type: 'log', at: this.clock.now(), node, message });
  }

  /**
   * Runs `work` to completion, moving virtual time forward whenever every pending promise has
   * settled and the work is still waiting on a timer. Nested calls share the outer drive.
   */
  async run<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    const clock = this.#virtual;
    if (!clock || this.#driving) return typeof work === 'function' ? work() : work;
    // Claim the drive before starting the work, so requests it starts join this drive.
    this.#driving = true;
    let promise: Promise<T>;
    try {
      promise = typeof work === 'function' ? work() : work;
    } catch (err) {
      this.#driving = false;
      throw err;
    }
    let done = false;
    promise.then(() => (done = true), () => (done = true));
    const deadline = clock.now() + this.#maxRunTime;
    try {
      let idle = 0;
      while (!done) {
        await settle();
        if (done) break;
        if (clock.nextDue() !== undefined) {
          if (clock.nextDue()! > deadline) {
            throw new Error(`Stopped after ${this.#maxRunTime / 1000} s of cluster time and the work was still not finished: does a request wait forever, or a loop never end?`);
          }
          clock.fireNext();
          idle = 0;
        } else if (++idle > 50) {
          throw new Error('The work is waiting on a promise that will never settle: nothing is scheduled on the clock and nothing else is pending.');
        }
      }
    } finally {
      this.#driving = false;
    }
    return promise;
  }

  /** Sends a request from outside the cluster (the `client`) and waits for the answer, driving time. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return this.run(() => this.#fetchFrom(CLIENT, input, init));
  }

  /** Sends many requests from the client and reports throughput and latency percentiles. */
  load(options: LoadOptions): Promise<LoadReport> {
    return this.run(() => generateLoad((request) => this.#fetchFrom(CLIENT, request), this.clock, options));
  }

  /** Lets `ms` of cluster time pass (health checks, TTLs and intervals fire on the way). */
  async sleep(ms: number): Promise<void> {
    if (!this.#virtual || this.#driving) return this.clock.sleep(ms);
    this.#driving = true;
    try {
      await this.#virtual.advance(ms);
    } finally {
      this.#driving = false;
    }
  }
}

/** Resolves or rejects with `work`, unless a signal aborts first. */
function raceAbort<T>(work: Promise<T>, ...signals: (AbortSignal | undefined)[]): Promise<T> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  if (live.length === 0) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (event: Event) => {
      cleanup();
      reject((event.target as AbortSignal).reason);
    };
    const cleanup = () => live.forEach((s) => s.removeEventListener('abort', onAbort));
    for (const s of live) {
      if (s.aborted) return reject(s.reason);
      s.addEventListener('abort', onAbort, { once: true });
    }
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}
