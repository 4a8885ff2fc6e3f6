import type { Cluster } from '@scale-lab/kit';
import { runLoad, type Run } from './run.ts';

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

/** The service level objective: 99 % of requests answered within `p99` ms. */
export interface Slo {
  p99: number;
}

/** How long each trial holds its rate: long enough for a p99 from a few hundred requests. */
const TRIAL_MS = 5_000;
/** Halvings of the range from 0 to the ceiling: five leave it 1/32 of the ceiling wide. */
const ROUNDS = 5;

/** The highest arrival rate, in requests per second, at which http://app/ keeps its p99 within the SLO. */
export async function findKnee(cluster: Cluster, slo: Slo): Promise<number> {
  // A closed loop measures the ceiling (cores / work) well, and says nothing about latency below it.
  const ceiling = (await cluster.load({ target: 'http://app/', concurrency: 50, requests: 100 })).throughput;
  // Open loop: requests arrive at each rate, whatever the answers, as users do. The knee is where the
  // p99 crosses the SLO, somewhere between 0 and the ceiling: try the middle, keep the half it is in.
  let holds = 0;
  let breaks = ceiling;
  for (let round = 0; round < ROUNDS; round++) {
    const rate = (holds + breaks) / 2;
    const run = await runLoad(cluster, { rate, duration: TRIAL_MS, interval: TRIAL_MS });
    if (summarize(run).p99 <= slo.p99) holds = rate;
    else breaks = rate;
  }
  return holds;
}
