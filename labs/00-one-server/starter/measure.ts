import type { Run } from './run.ts';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** The latency that 50, 95 and 99 % of a run's requests stay under, in ms. */
export function summarize(run: Run): Percentiles {
  // The dashboard way: the average latency as "typical", and each slice's own percentiles averaged.
  const all = run.intervals.flatMap((i) => i.latencies);
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return { p50: mean, p95: average(run.intervals.map((i) => i.p95)), p99: average(run.intervals.map((i) => i.p99)) };
}
