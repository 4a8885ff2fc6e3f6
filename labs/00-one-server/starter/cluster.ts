// Provided: the cluster of this lab. Your code is in measure.ts.
import { Cluster, type ClusterOptions, type WorkCost } from '@scale-lab/kit';
import { createApp } from './app.ts';

export interface ServerOptions extends ClusterOptions {
  /** Cores of the app server (default 2). */
  cores?: number;
  /** CPU time one request to GET / costs (default: exponential, mean 20 ms). */
  work?: WorkCost;
}

/** One app server, `app`, with a fixed number of cores; every GET / spends CPU time on them. */
export function createOneServerCluster(options: ServerOptions = {}): Cluster {
  const { cores = 2, work = { distribution: 'exponential', mean: 20 }, ...cluster } = options;
  return new Cluster({ seed: 1, ...cluster }).addNode('app', (ctx) => createApp(ctx, work), { cores });
}
