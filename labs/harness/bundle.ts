/**
 * What the site build prepares for each lab, so that nothing is installed or bundled in the
 * reader's browser: the lab's metadata and files, and its graded tests already bundled.
 * Served as `<base>lab-assets/<lab>.json`; the kit as `<base>lab-assets/kit.js`.
 */
import type { Lab } from './lab-schema.ts';

export interface LabBundle {
  /** Folder name, e.g. "01-clones". */
  name: string;
  /** Changes whenever any file of the lab changes: lets the page notice a new starter. */
  version: string;
  lab: Lab;
  /** Every starter file by path, e.g. { "balancer.ts": "…", "cluster.ts": "…" }. */
  starter: Record<string, string>;
  /** The solution's editable files that differ from the starter. */
  solution: Record<string, string>;
  /**
   * Each step's test file, bundled to CommonJS. Left outside the bundle and resolved at run time:
   * `vitest`, `@scale-lab/kit`, and the lab's own files (`../starter/<file>`).
   */
  tests: Record<string, string>;
  /**
   * The wall-clock limit of one graded run of this lab, in ms (runLimitFor): every host stops a run
   * that takes longer and replaces what ran it, whatever the reader's code is doing.
   */
  runLimitMs: number;
}

/** No graded run is stopped sooner than this, however fast the solution. */
export const MIN_RUN_LIMIT_MS = 15_000;

/**
 * A lab's run limit: ten times its solution's measured run, at least MIN_RUN_LIMIT_MS, rounded up to
 * 5 s, so that the figure (and the built bundle) changes only when the lab really gets slower.
 */
export function runLimitFor(solutionMs: number): number {
  return Math.max(MIN_RUN_LIMIT_MS, Math.ceil((solutionMs * 10) / 5000) * 5000);
}

/** The runtime asset folder under the site's base path. */
export const LAB_ASSETS_DIR = 'lab-assets';

/** Fetches a lab's bundle. Assets keep their names across deploys, so the browser revalidates them. */
export async function fetchLabBundle(assetsBase: string, lab: string, signal?: AbortSignal): Promise<LabBundle> {
  const url = `${assetsBase.endsWith('/') ? assetsBase : `${assetsBase}/`}${lab}.json`;
  const res = await fetch(url, { signal, cache: 'no-cache' });
  if (!res.ok) throw new Error(`The lab's files could not be loaded (HTTP ${res.status} for ${url}). Reload the page to try again.`);
  return (await res.json()) as LabBundle;
}
