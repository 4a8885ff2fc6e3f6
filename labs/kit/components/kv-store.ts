/**
 * The key-value store as a node of the cluster: the Redis-like engine (kv.ts) behind the network,
 * each command a round trip that costs time, counted for the store and for its caller.
 */
import { clientOver, KeyValueStore, type KvClient, type KvTransport } from '../kv.ts';
import { withLimits, type CallOptions } from '../failures.ts';
import { Capacity, type CapacityOptions } from '../capacity.ts';
import { ClusterNode, type NodeEnv } from '../node.ts';

export class StoreNode extends ClusterNode {
  readonly kind = 'kv';
  readonly store: KeyValueStore;
  /** CPU time one command costs, in ms. */
  readonly cost: number;
  /** Declared a cache: its GETs count as hits and misses (a session store's do not). */
  readonly isCache: boolean;
  /** Where its commands go instead of `store`, when set: a real Redis (`cluster.useStoreBackend`, `--serve --redis`). */
  backend: KvTransport | undefined;

  constructor(name: string, env: NodeEnv, cost: number, isCache: boolean, capacity: CapacityOptions = {}) {
    super(name, new Capacity(env.clock, capacity));
    this.isCache = isCache;
    this.role = isCache ? 'cache' : undefined;
    // The whole clock, not only now(): BLMOVE waits for its timeout on it.
    this.store = new KeyValueStore(env.clock);
    this.cost = cost;
  }
}

/** The store named `name` as a node, or an error saying there is none. */
export function storeNode(env: NodeEnv, name: string, asker: string): StoreNode {
  const node = env.network.find(name);
  if (!(node instanceof StoreNode)) throw new Error(`${asker}: this cluster has no key-value store named "${name}".`);
  return node;
}

/** The client `from` holds for the store `name`: every command crosses the network and costs time. */
export function storeClient(env: NodeEnv, from: string, name: string, limits: CallOptions = {}): KvClient {
  const node = storeNode(env, name, from);
  const { clock, metrics, network } = env;
  const call = <T>(command: string, key: string, run: (signal?: AbortSignal) => T | Promise<T>): Promise<T> =>
    withLimits(clock, limits, (signal) => network.deliver(from, name, signal, async () => {
      if (node.cost > 0) await node.work(node.cost);
      // The caller's signal reaches a blocked command, so a caller that gave up takes no element later.
      const ran = run(signal);
      // Only a backend answers later; the in-memory store answers in the same turn, as it always has.
      const result = ran instanceof Promise ? await ran : ran;
      const served = metrics.of(name);
      const caller = metrics.of(from);
      served.requests++;
      for (const m of [served, caller]) m.kvOps++;
      let hit: boolean | undefined;
      if (command === 'GET' || command === 'MGET') {
        // An MGET is one read, of several keys: in a cache, each key is a hit or a miss.
        const found = command === 'GET' ? [result] : (result as unknown[]);
        const hits = found.filter((value) => value !== null).length;
        if (node.isCache && command === 'GET') hit = hits === 1;
        for (const m of [served, caller]) {
          m.kvReads++;
          if (!node.isCache) continue;
          m.cacheHits += hits;
          m.cacheMisses += found.length - hits;
        }
      }
      if (metrics.listening) metrics.emit({ type: 'kv', at: clock.now(), from, node: name, command, key, hit });
      return result;
    }));
  return clientOver((command, key, argv, blocking) => {
    const backend = node.backend;
    if (backend) return call(command, key, () => backend(command, key, argv, blocking));
    return blocking ? call(command, key, (signal) => node.store.runBlocking(argv, signal)) : call(command, key, () => node.store.execute(argv));
  });
}
