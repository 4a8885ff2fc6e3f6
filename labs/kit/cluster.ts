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
import type { CapacityOptions } from './capacity.ts';
import { Driver } from './drive.ts';
import { timeoutSignal } from './failures.ts';
import { HttpNode, HttpRouter, type NodeFactory, type Transport } from './components/http-node.ts';
import { StoreNode, storeClient, storeNode } from './components/kv-store.ts';
import { DatabaseNode, databaseClient } from './components/sql-database.ts';
import { ReplicationGroup, type ReplicationOptions } from './components/replication.ts';
import { QueueNode, TopicNode, queueClient, queueNode, topicClient, type QueueOptions } from './components/queue.ts';
import type { KeyValueStore, KvTransport } from './kv.ts';
import { Metrics } from './metrics.ts';
import { Observation, type Topology } from './observation.ts';
import { CLIENT, Network, type LinkOptions } from './network.ts';
import type { ClusterNode, NodeEnv, NodeKind, NodeState } from './node.ts';
import { WalDatabase, type SqlDatabase } from './wal.ts';
import type { RegionMatrix, Resolver } from './regions.ts';
import { generateLoad, type LoadOptions, type LoadReport, type LoadSender } from './load.ts';
import { Client, type ClientOptions } from './clients.ts';
import { HttpCache, edgeFactory, type CacheOutcome, type EdgeOptions } from './components/http-cache.ts';
import { deriveSeed, seededRandom } from './random.ts';
import { announceCluster } from './evidence.ts';

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

const KIND_NAMES: Record<NodeKind, string> = { http: 'HTTP node', kv: 'key-value store', db: 'database', queue: 'queue', topic: 'topic' };

/** A database's contents and capacity. */
export interface DatabaseOptions extends CapacityOptions {
  /** Schema and rows, run when the database is created. */
  setup?: string;
  /** CPU time one statement costs, in ms (default 5). */
  cost?: number;
  /** How long a writer waits for the write lock before SQLITE_BUSY, in ms (default 5,000). */
  busyTimeout?: number;
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
  readonly #clients = new Map<string, Client>();
  readonly #groups = new Map<string, ReplicationGroup>();
  readonly #caches = new Map<string, HttpCache>();
  #resolver: Resolver | undefined;
  readonly #loadRandom: () => number;

  constructor(options: ClusterOptions = {}) {
    this.seed = options.seed ?? 1;
    const virtual = options.clock === 'real' ? undefined : new VirtualClock();
    this.clock = virtual ?? new RealClock();
    this.#driver = new Driver(virtual, options.maxRunTime ?? 3_600_000);
    this.#network = new Network(this.clock, { seed: this.seed, latency: options.latency ?? 0, networkTimeout: options.networkTimeout ?? 30_000 });
    this.#env = { clock: this.clock, network: this.#network, metrics: this.metrics, log: (node, message) => this.log(node, message) };
    this.#http = new HttpRouter(this.#env);
    this.#loadRandom = seededRandom(deriveSeed(this.seed, '#load'));
    this.#services = {
      clock: this.clock,
      seed: this.seed,
      timeout: (ms) => this.timeout(ms),
      fetch: (from, input, init) => this.#http.fetch(from, input, init),
      store: (from, name, limits) => storeClient(this.#env, from, name, limits),
      database: (from, name, limits) => databaseClient(this.#env, from, name, limits),
      queue: (from, name, limits) => queueClient(this.#env, from, name, limits),
      topic: (from, name, limits) => topicClient(this.#env, from, name, limits),
      log: (node, message) => this.log(node, message),
    };
    announceCluster(this);
  }

  // ---- building the cluster ------------------------------------------------------------------

  #add<N extends ClusterNode>(node: N): N {
    this.#network.add(node);
    this.metrics.track(node.name, node.capacity);
    return node;
  }

  /**
   * Adds an HTTP node built by `factory`. With `cores`, `ctx.work()` queues for them; with
   * `backlog`, requests arriving while that many wait for a core are refused at once.
   */
  addNode(name: string, factory: NodeFactory, capacity: CapacityOptions = {}): this {
    this.#network.checkName(name);
    this.#add(new HttpNode(name, factory, this.#env, (node) => createContext(node, this.#services), capacity));
    return this;
  }

  /**
   * Adds a key-value store; `cost` is the CPU time one command takes there (default 0.5 ms). Declare
   * it a `cache` to count its GETs as cache hits and misses (a session store's lookups are not).
   */
  addStore(name = 'kv', options: { cost?: number; cache?: boolean } & CapacityOptions = {}): KeyValueStore {
    const { cost = 0.5, cache = false, ...capacity } = options;
    return this.#add(new StoreNode(name, this.#env, cost, cache, capacity)).store;
  }

  /**
   * Adds a SQLite database with `setup` run in it; `cost` is the CPU time one statement takes
   * (default 5 ms), on the database's `cores` when set; `maxConnections` refuses callers over it.
   */
  async addDatabase(name = 'db', options: DatabaseOptions = {}): Promise<SqlDatabase> {
    this.#network.checkName(name);
    const { setup = '', cost = 5, busyTimeout, ...capacity } = options;
    // SQL's clock and random() follow the cluster's, from a stream of their own.
    const sqlRandom = seededRandom(deriveSeed(this.seed, `${name}#sql`));
    const wal = await WalDatabase.create(setup, { now: () => this.clock.now(), random: sqlRandom }, this.clock, busyTimeout);
    const node = new DatabaseNode(name, this.#env, wal, cost, capacity);
    return this.#add(node).database;
  }

  /**
   * Adds a replicated database: a primary `name` and its replicas, each a database node with
   * `setup` run in it. Replicas refuse writes, receive the primary's log over their links and apply
   * it on their own cores; see `replication(name)` for positions, lag, pause and promotion.
   */
  async addReplicatedDatabase(name: string, options: ReplicationOptions & DatabaseOptions = { replicas: 1 }): Promise<ReplicationGroup> {
    const { replicas, sync, applyCost, retry, ...database } = options;
    const names = typeof replicas === 'number' ? Array.from({ length: replicas }, (_, i) => `${name}-replica-${i + 1}`) : replicas;
    for (const member of [name, ...names]) this.#network.checkName(member);
    const nodes: DatabaseNode[] = [];
    for (const member of [name, ...names]) {
      await this.addDatabase(member, database);
      nodes.push(this.#databaseNode(member));
    }
    const [primary, ...others] = nodes as [DatabaseNode, ...DatabaseNode[]];
    const group = new ReplicationGroup(this.#env, primary, others, { replicas, sync, applyCost, retry });
    this.#groups.set(name, group);
    return group;
  }

  /** The replicated database first added as `name`: positions, lag, pause and resume, promote. */
  replication(name = 'db'): ReplicationGroup {
    const group = this.#groups.get(name);
    if (!group) throw new Error(`This cluster has no replicated database named "${name}".`);
    return group;
  }

  #databaseNode(name: string): DatabaseNode {
    const node = this.#network.find(name);
    if (!(node instanceof DatabaseNode)) throw new Error(`This cluster has no database named "${name}".`);
    return node;
  }

  /** Adds a queue with SQS semantics (a dead-letter queue is a queue too: add it as well). */
  addQueue(name: string, options: QueueOptions = {}): this {
    this.#add(new QueueNode(name, this.#env, options));
    return this;
  }

  /** Adds a topic that sends each published message to every queue in `subscribers`. */
  addTopic(name: string, subscribers: string[]): this {
    this.#add(new TopicNode(name, this.#env, subscribers));
    return this;
  }

  /** Direct access to a queue, for tests: its stats and the bodies it holds; no cost, not counted. */
  queue(name: string): Pick<QueueNode, 'stats' | 'bodies' | 'send'> {
    return queueNode(this.#env, name, 'cluster');
  }

  /** Direct access to a store's data, for tests and scenarios: no cost, no network, not counted. */
  store(name = 'kv'): KeyValueStore {
    const node = this.#network.find(name);
    if (!(node instanceof StoreNode)) throw new Error(`This cluster has no key-value store named "${name}".`);
    return node.store;
  }

  /** Direct access to a database, for tests and scenarios: no cost, no network, not counted. */
  database(name = 'db'): SqlDatabase {
    return this.#databaseNode(name).database;
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
    if (!(node instanceof HttpNode)) throw new Error(`fail() applies to HTTP nodes; ${name} is a ${KIND_NAMES[node.kind]}: use kill(), slow() or hang().`);
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

  // ---- regions and time ---------------------------------------------------------------------

  /** Puts nodes in a region: links to other regions carry the regions' latency (see setRegionLatency). */
  place(region: string, ...names: string[]): void {
    for (const name of names) {
      this.#node(name);
      this.#network.place(name, region);
    }
  }

  /** The region a node or client is in, or undefined. */
  regionOf(name: string): string | undefined {
    return this.#network.regionOf(name);
  }

  /** Replaces the round-trip times between regions (default: AWS_REGION_RTT, measured between AWS regions). */
  setRegionLatency(matrix: RegionMatrix): void {
    this.#network.setRegionLatency(matrix);
  }

  /** Kills every node in a region (a datacenter lost). */
  killRegion(region: string): void {
    for (const name of this.#network.inRegion(region)) if (this.#network.find(name)) this.kill(name);
  }

  /** Revives every node in a region. */
  reviveRegion(region: string): void {
    for (const name of this.#network.inRegion(region)) if (this.#network.find(name)) this.revive(name);
  }

  /** Cuts a region off from the rest of the network (its nodes and clients still talk among themselves). */
  partitionRegion(region: string): void {
    this.partition(this.#network.inRegion(region));
  }

  /**
   * Lab code that answers clients' name lookups: which node a client (and its region) gets for a
   * host name that is no node's, and for how long it may keep the answer (its TTL).
   */
  setResolver(resolver: Resolver | undefined): void {
    this.#resolver = resolver;
  }

  /**
   * Skews a node's clock: from now, its `ctx.now()` reads `offset` ms ahead of true time (negative:
   * behind) and drifts by `drift` ms per ms (0.001: a second fast every 1,000 s). Timers and tests
   * keep true time; `skew(name, {})` sets the clock right.
   */
  skew(name: string, skew: { offset?: number; drift?: number }): void {
    this.#node(name).skew = { offset: skew.offset ?? 0, drift: skew.drift ?? 0, since: this.clock.now() };
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

  /**
   * Sends the commands of the store `name` to another backend instead of its in-memory engine: a real
   * Redis (`redisTransport` in kv-redis.ts, as `npm run lab -- <topic> --serve --redis` does). The
   * network between a caller and the store, its costs, metrics and events stay; `undefined` goes back
   * to memory.
   */
  useStoreBackend(name: string, backend: KvTransport | undefined): void {
    storeNode(this.#env, name, 'useStoreBackend').backend = backend;
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

  /** The cluster's shape now: nodes (kind, role, region, state), clients, and the links that carried calls. */
  topology(): Topology {
    const links = this.#network.observedLinks();
    const clients = [...this.#clients.values()].map((c) => ({ name: c.name, region: c.region }));
    if (links.some((l) => l.from === CLIENT)) clients.unshift({ name: CLIENT, region: undefined });
    return {
      nodes: this.#network.nodes().map((n) => ({ name: n.name, kind: n.kind, role: n.role, region: this.#network.regionOf(n.name), state: n.state })),
      clients,
      links,
    };
  }

  /**
   * Keeps the last `limit` events (default 10,000) until `stop()`; for a picture of a run, or a test.
   * While nobody observes or listens (`metrics.on`), the cluster builds no events at all.
   */
  observe(limit = 10_000): Observation {
    return new Observation(this.metrics, limit);
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

  /**
   * A named client outside the cluster, like a browser: its own cookies, its own name on the
   * network (links and partitions can single it out). The same name gives the same client.
   */
  client(name: string, options: ClientOptions = {}): Client {
    let client = this.#clients.get(name);
    if (!client) {
      this.#network.addClient(name);
      client = new Client(name, this.clock, (from, request) => this.run(() => this.#http.fetch(from, request)), options, this.#cacheCounted, (host, asker) => {
        // Node names need no resolving; other names go to the lab's resolver, if it has one.
        if (this.#network.find(host) || !this.#resolver) return undefined;
        return this.#resolver(host, { name: asker.name, region: asker.region });
      });
      if (options.region !== undefined) this.#network.place(name, options.region);
      this.#clients.set(name, client);
    }
    return client;
  }

  /** Counts a cache's answer for its node (an edge, or a client with a private cache) and tells listeners. */
  readonly #cacheCounted = (node: string, key: string, outcome: CacheOutcome): void => {
    const m = this.metrics.of(node);
    if (outcome === 'hit' || outcome === 'stale' || outcome === 'revalidated') m.cacheHits++;
    else if (outcome === 'miss') m.cacheMisses++;
    if (this.metrics.listening) this.metrics.emit({ type: 'cache', at: this.clock.now(), node, key, outcome });
  };

  /**
   * Adds an edge node: an HTTP cache in front of `origin` that obeys the origin's caching headers as
   * a shared cache does; `key` (the lab's code) may choose the cache key; `maxBytes` bounds it.
   */
  addEdge(name: string, options: EdgeOptions): HttpCache {
    const cache = new HttpCache(this.clock, { shared: true, maxBytes: options.maxBytes });
    this.addNode(name, edgeFactory(cache, options, this.#cacheCounted));
    this.#node(name).role = 'edge';
    this.#caches.set(name, cache);
    return cache;
  }

  /** The cache of an edge node: stats and purge. */
  cache(name: string): HttpCache {
    const cache = this.#caches.get(name);
    if (!cache) throw new Error(`This cluster has no edge cache named "${name}".`);
    return cache;
  }

  /**
   * Sends many requests, closed loop (`concurrency`) or open loop (`rate`, Poisson arrivals by
   * default), and reports throughput, errors and latency percentiles, overall and per interval.
   */
  load(options: LoadOptions): Promise<LoadReport> {
    const { clients } = options;
    const senders: LoadSender[] = clients === undefined
      ? [{ fetch: (request) => this.#http.fetch(CLIENT, request) }]
      : (typeof clients === 'number' ? Array.from({ length: clients }, (_, i) => `client-${i + 1}`) : clients).map((name) => this.client(name));
    if (senders.length === 0) throw new Error('load: clients must name at least one client');
    return this.run(() => generateLoad(senders, this.clock, this.#loadRandom, options));
  }

  /** Lets `ms` of cluster time pass (health checks, TTLs and intervals fire on the way). */
  sleep(ms: number): Promise<void> {
    return this.#driver.sleep(ms, (t) => this.clock.sleep(t));
  }
}
