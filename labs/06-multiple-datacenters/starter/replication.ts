// Provided: ships records to the other datacenters, asynchronously. Your code is in app.ts.
import type { NodeContext } from '@scale-lab/kit';

/** How long one shipment may take before it is tried again, and how long to wait between tries. */
const SHIP_TIMEOUT_MS = 3000;
const RETRY_EVERY_MS = 1000;

/** What POST /internal/replicate receives: the records `from` shipped, oldest first. */
export interface Shipment {
  from: string;
  records: unknown[];
}

export interface Replicator {
  /** Queues `record` for every other datacenter and returns at once: the caller does not wait for them. */
  send(record: unknown): void;
}

/**
 * Asynchronous replication between datacenters: each record sent goes, in order, to every other
 * datacenter's POST /internal/replicate as JSON (a Shipment). A shipment that fails or is not answered
 * 2xx is sent again a second later, so after a partition heals, everything queued arrives; a shipment
 * whose answer was lost may arrive twice. The queue lives in this app server's memory.
 */
export function createReplicator(ctx: NodeContext, region: string, peers: string[]): Replicator {
  const queues = new Map(peers.map((peer) => [peer, [] as unknown[]]));
  const shipping = new Set<string>();

  async function ship(peer: string): Promise<void> {
    if (shipping.has(peer)) return;
    shipping.add(peer);
    const queue = queues.get(peer)!;
    try {
      while (queue.length > 0) {
        const records = queue.slice();
        const shipment: Shipment = { from: region, records };
        const ok = await ctx
          .fetch(`http://${peer}/internal/replicate`, { method: 'POST', body: JSON.stringify(shipment), signal: ctx.timeout(SHIP_TIMEOUT_MS) })
          .then((res) => res.ok, () => false);
        if (ok) queue.splice(0, records.length);
        else await ctx.sleep(RETRY_EVERY_MS);
      }
    } finally {
      shipping.delete(peer);
    }
  }

  return {
    send(record) {
      for (const [peer, queue] of queues) {
        queue.push(record);
        void ship(peer).catch(() => {});
      }
    },
  };
}
