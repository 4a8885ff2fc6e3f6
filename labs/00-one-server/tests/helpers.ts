// Shared by the graded tests of this lab: a fresh cluster per test that prints its seed on failure.
import { onTestFailed } from 'vitest';
import type { Cluster } from '@scale-lab/kit';
import { createClonesCluster, createOneServerCluster, type ServerOptions } from '../starter/cluster.ts';

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export function oneServerCluster(options: ServerOptions = {}): Cluster {
  return withSeedOnFailure(createOneServerCluster(options));
}

/** Three clones, app-1 to app-3, with the same services; the seed is printed on failure. */
export function clonesCluster(options: ServerOptions = {}): Cluster {
  return withSeedOnFailure(createClonesCluster(options));
}

function withSeedOnFailure(cluster: Cluster): Cluster {
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}
