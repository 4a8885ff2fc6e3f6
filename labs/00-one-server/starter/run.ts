// Provided: a load run that keeps every request's latency, as a load-testing tool's raw output does.
import { percentile, type Cluster, type LoadOptions, type LoadRate } from '@scale-lab/kit';

/** One slice of a run: the requests that arrived in it, with the latency each of them saw. */
export interface Interval {
  /** ms from the start of the run. */
  start: number;
  end: number;
  /** The arrival rate the generator was set to in this slice, in requests per second (its mean over the slice). */
  rate: number;
  /** The latency of every request that arrived in this slice, in ms, in the order they were answered. */
  latencies: number[];
  /** The slice's own percentiles, as a dashboard draws them, one point per slice. */
  p50: number;
  p95: number;
  p99: number;
}

export interface Run {
  intervals: Interval[];
}

/** The rate in force `t` ms into a run of `duration` ms (as the kit's load generator sets it). */
function rateAt(rate: LoadRate, t: number, duration: number): number {
  if (typeof rate === 'number') return rate;
  if ('steps' in rate) return rate.steps.filter((s) => s.at <= t).at(-1)?.rate ?? 0;
  return rate.from + (rate.to - rate.from) * Math.min(1, t / duration);
}

/**
 * Sends load to http://app/ (`cluster.load` options) and returns every request's latency, sliced by
 * when the request arrived (`interval`, default 1,000 ms).
 */
export async function runLoad(cluster: Cluster, options: Omit<LoadOptions, 'target'>): Promise<Run> {
  const interval = options.interval ?? 1000;
  const samples: { start: number; latency: number }[] = [];
  const began = cluster.clock.now();
  const stop = cluster.metrics.on((e) => {
    if (e.type === 'request' && e.node === 'app' && e.from === 'client') samples.push({ start: e.at - e.latency - began, latency: e.latency });
  });
  try {
    await cluster.load({ ...options, target: 'http://app/' });
  } finally {
    stop();
  }
  const duration = options.duration ?? Math.max(0, ...samples.map((s) => s.start)) + 1;
  const count = Math.max(1, Math.ceil(duration / interval));
  const intervals: Interval[] = Array.from({ length: count }, (_, k) => {
    const start = k * interval;
    const end = Math.min(duration, start + interval);
    const latencies = samples.filter((s) => s.start >= start && (s.start < end || k === count - 1)).map((s) => s.latency);
    let rate = 0;
    if (options.rate !== undefined) {
      for (let i = 0; i < 10; i++) rate += rateAt(options.rate, start + ((i + 0.5) * (end - start)) / 10, duration) / 10;
    } else rate = (latencies.length * 1000) / (end - start);
    return { start, end, rate, latencies, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) };
  });
  return { intervals };
}
