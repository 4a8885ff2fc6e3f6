// Provided: the cluster of this lab. Your code is in balancer.ts and app.ts.
import { Cluster, type ClusterOptions } from '@scale-lab/kit';
import { createApp } from './app.ts';
import { createBalancer } from './balancer.ts';

/** The identical app servers behind the balancer. */
export const APP_SERVERS = ['app-1', 'app-2', 'app-3'];

/** Clients reach the service at http://lb/; the balancer forwards to app-1..app-3; sessions may live in kv. */
export function createClonesCluster(options: ClusterOptions = {}): Cluster {
  const cluster = new Cluster({ seed: 1, ...options });
  cluster.addStore('kv');
  for (const name of APP_SERVERS) cluster.addNode(name, createApp);
  cluster.addNode('lb', (ctx) => createBalancer(ctx, APP_SERVERS));
  return cluster;
}
