// Shared by the graded tests of this lab: a fresh cluster per test that prints its seed on failure.
import { onTestFailed } from 'vitest';
import type { Cluster } from '@scale-lab/kit';
import { createOneServerCluster, type ServerOptions } from '../starter/cluster.ts';

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export function oneServerCluster(options: ServerOptions = {}): Cluster {
  const cluster = createOneServerCluster(options);
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}
