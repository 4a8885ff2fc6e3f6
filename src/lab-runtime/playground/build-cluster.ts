/**
 * Builds a lab's cluster from the reader's files, as `npm run lab -- --serve` does: through the
 * runner's module loader (the same imports allowed, the same wall-clock guard), calling the export
 * lab.json names, on the virtual clock, with the playground's seed.
 */
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import { ModuleLoader, type ConsoleLike } from '../../../labs/harness/runner/loader.ts';
import type { Cluster } from '../../../labs/kit/cluster.ts';

export interface BuildInput {
  /** CommonJS code of kit.js, or the kit's exports already loaded. */
  kit: string | Record<string, unknown>;
  bundle: LabBundle;
  files: Record<string, string>;
  seed: number;
  console: ConsoleLike;
  configureKit?: (kit: any) => void;
}

export async function buildCluster(input: BuildInput): Promise<Cluster> {
  const { cluster: spec, editable } = input.bundle.lab;
  const loader = new ModuleLoader({ kit: input.kit, files: { ...input.bundle.starter, ...input.files }, editable }, undefined, input.console, input.configureKit);
  const create = loader.labFile(spec.file)[spec.export];
  if (typeof create !== 'function') throw new Error(`${spec.file} does not export a function ${spec.export}.`);
  const cluster = (await (create as (options: { seed: number }) => unknown)({ seed: input.seed })) as Cluster;
  if (!cluster || typeof (cluster as Partial<Cluster>).topology !== 'function') throw new Error(`${spec.export}() did not return a cluster.`);
  return cluster;
}
