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

/** What the report service calls when a clone starts building a day's report; tests use it to strike mid-job. */
const buildWatchers = new WeakMap<Cluster, (day: number) => void>();

/** Calls `watcher(day)` whenever a report build starts (it takes 5 s). */
export function onReportBuild(cluster: Cluster, watcher: (day: number) => void): void {
  buildWatchers.set(cluster, watcher);
}

/** Adds what every app server may call: the store `kv`, `inventory`, `reports` (5 s per daily report) and `mailer`. */
function addServices(cluster: Cluster): void {
  const inventory = { ms: 100 };
  inventoryTimes.set(cluster, inventory);
  cluster.addStore('kv');
  cluster.addNode('inventory', (ctx) => async () => {
    await ctx.work(inventory.ms);
    return Response.json({ reserved: true });
  }, { cores: INVENTORY_WORKERS });
  cluster.addNode('reports', (ctx) => async (req) => {
    const day = Number(new URL(req.url).searchParams.get('day'));
    buildWatchers.get(cluster)?.(day);
    await ctx.sleep(5_000);
    return new Response(`the report of day ${day}`);
  });
  cluster.addNode('mailer', () => async () => new Response('sent'));
}

/**
 * One app server, `app`, with a fixed number of cores: every GET / spends CPU time on them, and
 * GET /order also asks the inventory service, `inventory`, which runs 20 requests at a time.
 */
export function createOneServerCluster(options: ServerOptions = {}): Cluster {
  const { cores = 2, work = { distribution: 'exponential', mean: 20 }, ...settings } = options;
  const cluster = new Cluster({ seed: 1, ...settings });
  addServices(cluster);
  return cluster.addNode('app', (ctx) => createApp(ctx, work), { cores });
}

/** The clones of step 4: app-1 to app-3, all running app.ts, with the same services. */
export const CLONES = ['app-1', 'app-2', 'app-3'];

export function createClonesCluster(options: ServerOptions = {}): Cluster {
  const { cores = 2, work = { distribution: 'exponential', mean: 20 }, ...settings } = options;
  const cluster = new Cluster({ seed: 1, ...settings });
  addServices(cluster);
  for (const name of CLONES) cluster.addNode(name, (ctx) => createApp(ctx, work), { cores });
  return cluster;
}

/**
 * Step 5's fleet: `machines` identical app servers, app-1 to app-N, each with `cores`, behind a
 * balancer `lb` that sends each request to one of them at random.
 */
export function createFleetCluster(options: ServerOptions & { machines: number }): Cluster {
  const { machines, cores = 2, work = { distribution: 'exponential', mean: 20 }, ...settings } = options;
  const cluster = new Cluster({ seed: 1, ...settings });
  addServices(cluster);
  const names = Array.from({ length: machines }, (_, i) => `app-${i + 1}`);
  for (const name of names) cluster.addNode(name, (ctx) => createApp(ctx, work), { cores });
  return cluster.addNode('lb', (ctx) => (req) => ctx.forward(req, names[Math.floor(ctx.random() * names.length)]!));
}
