import type { Run } from './run.ts';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** The latency under which `p` percent of `samples` fall (nearest rank), from the raw samples. */
function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return 0;
  // Compare as numbers: a bare sort() compares strings and puts 100 before 9.
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The latency that 50, 95 and 99 % of a run's requests stay under, in ms. */
export function summarize(run: Run): Percentiles {
  // Percentiles do not average: pool every raw sample of the run, then rank them once.
  const all = run.intervals.flatMap((i) => i.latencies);
  return { p50: percentile(all, 50), p95: percentile(all, 95), p99: percentile(all, 99) };
}
