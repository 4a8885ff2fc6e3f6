/**
 * The cluster: named nodes on an in-memory network, driven by one clock.
 *
 * This file assembles the parts and is the surface tests and labs use: building the cluster,
 * injecting faults, and sending from outside. The parts live beside it: the network (network.ts),
 * the node context (context.ts), driving time (drive.ts), and one file per component under
 * components/ (HTTP node, key-value store, SQL database).
 */
import { RealClock, VirtualClock, type Clock } from './clock.ts';
import { createContext, type ContextServices } from './context.ts';
import { Driver } from './drive.ts';
import { timeoutSignal } from './failures.ts';
import { HttpNode, HttpRouter, type NodeFactory, type Transport } from './components/http-node.ts';
import { StoreNode, storeClient } from './components/kv-store.ts';
import { DatabaseNode, databaseClient } from './components/sql-database.ts';
import type { KeyValueStore } from './kv.ts';
import { Metrics } from './metrics.ts';
import { CLIENT, Network, type LinkOptions } from './network.ts';
import type { ClusterNode, NodeEnv, NodeState } from './node.ts';
import { SqlDatabase } from './sql.ts';
import { generateLoad, type LoadOptions, type LoadReport } from './load.ts';

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

export class Cluster {
  readonly seed: number;
  readonly clock: Clock;
  readonly metrics = new Metrics();
  readonly #network: Network;
  readonly #driver: Driver;
  readonly #env: NodeEnv;
  readonly #http: HttpRouter;
  readonly #services: ContextServices;

  constructor(options: ClusterOptions = {}) {
    this.seed = options.seed ?? 1;
    const virtual = options.clock === 'real' ? undefined : new VirtualClock();
    this.clock = virtual ?? new RealClock();
    this.#driver = new Driver(virtual, options.maxRunTime ?? 3_600_000);
    this.#network = new Network(this.clock, { seed: this.seed, latency: options.latency ?? 0, networkTimeout: options.networkTimeout ?? 30_000 });
    this.#env = { clock: this.clock, network: this.#network, metrics: this.metrics, log: (node, message) => this.log(node, message) };
    this.#http = new HttpRouter(this.#env);
    this.#services = {
      clock: this.clock,
      seed: this.seed,
      timeout: (ms) => this.timeout(ms),
      fetch: (from, input, init) => this.#http.fetch(from, input, init),
      store: (from, name, limits) => storeClient(this.#env, from, name, limits),
      database: (from, name, limits) => databaseClient(this.#env, from, name, limits),
      log: (node, message) => this.log(node, message),
    };
  }

  // ---- building the cluster ------------------------------------------------------------------

  #add<N extends ClusterNode>(node: N): N {
    this.#network.add(node);
    this.metrics.of(node.name);
    return node;
  }

  /** Adds an HTTP node built by `factory`. */
  addNode(name: string, factory: NodeFactory): this {
    this.#network.checkName(name);
    this.#add(new HttpNode(name, factory, this.#env, (node) => createContext(node, this.#services)));
    return this;
  }

  /** Adds a key-value store; `cost` is the time one command takes there (default 0.5 ms). */
  addStore(name = 'kv', options: { cost?: number } = {}): KeyValueStore {
    return this.#add(new StoreNode(name, this.#env, options.cost ?? 0.5)).store;
  }

  /** Adds a SQLite database with `setup` run in it; `cost` is the time one statement takes (default 5 ms). */
  async addDatabase(name = 'db', options: { setup?: string; cost?: number } = {}): Promise<SqlDatabase> {
    this.#network.checkName(name);
    const node = new DatabaseNode(name, await SqlDatabase.create(options.setup), options.cost ?? 5);
    return this.#add(node).database;
  }

  /** Direct access to a store's data, for tests and scenarios: no cost, no network, not counted. */
  store(name = 'kv'): KeyValueStore {
    const node = this.#network.find(name);
    if (!(node instanceof StoreNode)) throw new Error(`This cluster has no key-value store named "${name}".`);
    return node.store;
  }

  /** Direct access to a database, for tests and scenarios: no cost, no network, not counted. */
  database(name = 'db'): SqlDatabase {
    const node = this.#network.find(name);
    if (!(node instanceof DatabaseNode)) throw new Error(`This cluster has no database named "${name}".`);
    return node.database;
  }

  /** Names of every node, in the order they were added. */
  get nodeNames(): string[] {
    return this.#network.names;
  }

  /** Names of the HTTP nodes (not stores or databases), in the order they were added. */
  get httpNodeNames(): string[] {
    return this.#network.nodes().filter((n) => n instanceof HttpNode).map((n) => n.name);
  }

  /** `up`, `killed`, `failing`, `slow` or `hung`. */
  stateOf(name: string): NodeState {
    return this.#node(name).state;
  }

  #node(name: string): ClusterNode {
    const node = this.#network.find(name);
    if (!node) throw new Error(`This cluster has no node named "${name}" (nodes: ${this.nodeNames.join(', ')}).`);
    return node;
  }

  // ---- faults --------------------------------------------------------------------------------

  /** Stops a node: connections are refused, requests it was handling are reset, its timers stop. */
  kill(name: string): void {
    if (this.#node(name).kill()) this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'killed' });
  }

  /** Starts a killed node again. An HTTP node starts fresh: its factory runs again, memory wiped. */
  revive(name: string): void {
    if (this.#node(name).revive()) this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'restarted' });
  }

  /** Kills and revives a node: an HTTP node loses everything it kept in memory. */
  restart(name: string): void {
    this.kill(name);
    this.revive(name);
  }

  /** Makes an HTTP node answer every request with `status` (default 500) without running its code. */
  fail(name: string, status = 500): void {
    const node = this.#node(name);
    if (!(node instanceof HttpNode)) throw new Error(`fail() applies to HTTP nodes; ${name} is a ${node instanceof StoreNode ? 'key-value store' : 'database'}: use kill().`);
    node.fail(status);
    this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'failing' });
  }

  /** Makes a node answer late: every answer leaves `ms` after it is ready (any kind of node). */
  slow(name: string, ms: number): void {
    this.#node(name).slow(ms);
    this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'slow' });
  }

  /**
   * Makes a node accept connections and never answer (a deadlock, a stopped process): callers wait
   * until their own timeout, or the network's, unless the node recovers or is killed first.
   */
  hang(name: string): void {
    this.#node(name).hang();
    this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'hung' });
  }

  /** Ends `fail()`, `slow()` or `hang()`: the node runs its own code again, with its memory intact; held answers go out. */
  recover(name: string): void {
    if (this.#node(name).recover()) this.metrics.emit({ type: 'node', at: this.clock.now(), node: name, state: 'up' });
  }

  /** Sets latency or loss on the link between two nodes, both ways. */
  link(a: string, b: string, options: LinkOptions): void {
    this.#network.link(a, b, options);
  }

  /** Sets the one-way latency of every link that has none of its own. */
  setLatency(ms: number): void {
    this.#network.setLatency(ms);
  }

  /** Splits the network: nodes talk only within their group. Nodes not named form one more group. */
  partition(...groups: string[][]): void {
    this.#network.partition(groups);
  }

  /** Ends a partition. */
  heal(): void {
    this.#network.heal();
  }

  // ---- HTTP from outside and over real ports -------------------------------------------------

  /** Runs a node's handler on a request and counts it; used by the node:http adapter. */
  handle(name: string, request: Request, from: string = CLIENT): Promise<Response> {
    return this.#http.node(name, from).handle(request, from);
  }

  /** Replaces in-memory delivery of HTTP requests (the node:http adapter does this). */
  useTransport(transport: Transport | undefined): void {
    this.#http.transport = transport;
  }

  // ---- driving time --------------------------------------------------------------------------

  /** An AbortSignal that aborts after `ms` of cluster time. */
  timeout(ms: number): AbortSignal {
    return timeoutSignal(this.clock, ms);
  }

  log(node: string, message: string): void {
    this.metrics.emit({ type: 'log', at: this.clock.now(), node, message });
  }

  /**
   * Runs `work` to completion, moving virtual time forward whenever every pending promise has
   * settled and the work is still waiting on a timer. Nested calls share the outer drive.
   */
  run<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    return this.#driver.run(work);
  }

  /** Sends a request from outside the cluster (the `client`) and waits for the answer, driving time. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return this.run(() => this.#http.fetch(CLIENT, input, init));
  }

  /** Sends many requests from the client and reports throughput and latency percentiles. */
  load(options: LoadOptions): Promise<LoadReport> {
    return this.run(() => generateLoad((request) => this.#http.fetch(CLIENT, request), this.clock, options));
  }

  /** Lets `ms` of cluster time pass (health checks, TTLs and intervals fire on the way). */
  sleep(ms: number): Promise<void> {
    return this.#driver.sleep(ms, (t) => this.clock.sleep(t));
  }
}
