// Provided: the cluster of this lab. Your code is in measure.ts and app.ts.
import { Cluster, type ClusterOptions, type WorkCost } from '@scale-lab/kit';
import { createApp } from './app.ts';

export interface ServerOptions extends ClusterOptions {
  /** Cores of the app server (default 2). */
  cores?: number;
  /** CPU time one request to GET / costs (default: exponential, mean 20 ms). */
  work?: WorkCost;
}

/** How many requests the inventory service runs at once: its 20 workers. */
export const INVENTORY_WORKERS = 20;

/** How long inventory takes per request, per cluster; tests change it to slow the dependency down. */
const inventoryTimes = new WeakMap<Cluster, { ms: number }>();

/** Makes every inventory request from now on take `ms` of a worker's time (100 ms when healthy). */
export function setInventoryTime(cluster: Cluster, ms: number): void {
  inventoryTimes.get(cluster)!.ms = ms;
}

/**
 * One app server, `app`, with a fixed number of cores: every GET / spends CPU time on them, and
 * GET /order also asks the inventory service, `inventory`, which runs 20 requests at a time.
 */
export function createOneServerCluster(options: ServerOptions = {}): Cluster {
  const { cores = 2, work = { distribution: 'exponential', mean: 20 }, ...settings } = options;
  const cluster = new Cluster({ seed: 1, ...settings });
  const inventory = { ms: 100 };
  inventoryTimes.set(cluster, inventory);
  cluster.addNode('inventory', (ctx) => async () => {
    await ctx.work(inventory.ms);
    return Response.json({ reserved: true });
  }, { cores: INVENTORY_WORKERS });
  return cluster.addNode('app', (ctx) => createApp(ctx, work), { cores });
}
