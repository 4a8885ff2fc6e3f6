// Shared by the graded tests of this lab: a fresh cluster per test, and counters that ignore health checks.
import { onTestFailed } from 'vitest';
import type { Cluster } from '@scale-lab/kit';
import { APP_SERVERS, createClonesCluster } from '../starter/cluster.ts';

export { APP_SERVERS };

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export function clonesCluster(): Cluster {
  const cluster = createClonesCluster();
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}

/** Counts the requests each app server receives from the balancer from now on, health checks left out. */
export function countServed(cluster: Cluster): { of(server: string): number; reset(): void } {
  const served = new Map<string, number>();
  cluster.metrics.on((event) => {
    if (event.type === 'request' && event.from === 'lb' && event.path !== '/health') {
      served.set(event.node, (served.get(event.node) ?? 0) + 1);
    }
  });
  return { of: (server) => served.get(server) ?? 0, reset: () => served.clear() };
}

/** Sends `n` GET / requests through the balancer, one after another; returns the statuses (0 = no answer). */
export async function sendSequential(cluster: Cluster, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      statuses.push((await cluster.fetch('http://lb/')).status);
    } catch {
      statuses.push(0);
    }
  }
  return statuses;
}
