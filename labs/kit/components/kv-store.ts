/**
 * The key-value store as a node of the cluster: the Redis-like engine (kv.ts) behind the network,
 * each command a round trip that costs time, counted for the store and for its caller.
 */
import { KeyValueStore, kvClient, type KvClient } from '../kv.ts';
import { withLimits, type CallOptions } from '../failures.ts';
import { Capacity, type CapacityOptions } from '../capacity.ts';
import { ClusterNode, type NodeEnv } from '../node.ts';

export class StoreNode extends ClusterNode {
  readonly kind = 'kv';
  readonly store: KeyValueStore;
  /** CPU time one command costs, in ms. */
  readonly cost: number;

  constructor(name: string, env: NodeEnv, cost: number, capacity: CapacityOptions = {}) {
    super(name, new Capacity(env.clock, capacity));
    this.store = new KeyValueStore(() => env.clock.now());
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
  const call = <T>(command: string, key: string, run: () => T): Promise<T> =>
    withLimits(clock, limits, (signal) => network.deliver(from, name, signal, async () => {
      if (node.cost > 0) await node.work(node.cost);
      const result = run();
      const served = metrics.of(name);
      const caller = metrics.of(from);
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
      metrics.emit({ type: 'kv', at: clock.now(), from, node: name, command, key, hit });
      return result;
    }));
  return kvClient(call, node.store);
}
