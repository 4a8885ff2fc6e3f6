/** The load generator: many requests at a fixed concurrency or rate, summed up as throughput and latency percentiles. */
import type { Clock } from './clock.ts';
import { percentile } from './metrics.ts';

export interface LoadOptions {
  /** How many requests to send. */
  requests: number;
  /** The URL to request, or a function giving the i-th request (0-based). */
  target: string | ((i: number) => string | Request);
  /** Closed loop: this many requests in flight at once (default 10). Ignored when `rate` is set. */
  concurrency?: number;
  /** Open loop: start this many requests per second of cluster time, whatever the answers. */
  rate?: number;
}

export interface LoadReport {
  requests: number;
  /** Answered with a 2xx status. */
  ok: number;
  /** Answered with another status, or not answered at all. */
  failed: number;
  /** How many answers of each status; `error` counts requests that got no answer. */
  statuses: Record<string, number>;
  /** Up to five distinct reasons requests got no answer. */
  errors: string[];
  /** Cluster time from the first request to the last answer, in ms. */
  duration: number;
  /** Answered requests per second of cluster time. */
  throughput: number;
  /** Latency seen by the client, in ms of cluster time. */
  latency: { mean: number; p50: number; p90: number; p99: number; max: number };
}

export async function generateLoad(send: (request: string | Request) => Promise<Response>, clock: Clock, options: LoadOptions): Promise<LoadReport> {
  const { requests } = options;
  if (!Number.isInteger(requests) || requests < 0) throw new Error(`load: requests must be a whole number, got ${requests}`);
  const targetOf = typeof options.target === 'function' ? options.target : () => options.target as string;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const errors = new Set<string>();
  let ok = 0;
  const start = clock.now();

  const one = async (i: number) => {
    const t0 = clock.now();
    try {
      const res = await send(targetOf(i));
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.ok) ok++;
    } catch (err) {
      statuses.error = (statuses.error ?? 0) + 1;
      if (errors.size < 5) errors.add(err instanceof Error ? err.message : String(err));
    }
    latencies.push(clock.now() - t0);
  };

  if (options.rate !== undefined) {
    if (!(options.rate > 0)) throw new Error(`load: rate must be positive, got ${options.rate}`);
    const gap = 1000 / options.rate;
    const all: Promise<void>[] = [];
    for (let i = 0; i < requests; i++) {
      const due = start + i * gap;
      if (due > clock.now()) await clock.sleep(due - clock.now());
      all.push(one(i));
    }
    await Promise.all(all);
  } else {
    const concurrency = Math.max(1, options.concurrency ?? 10);
    let next = 0;
    const worker = async () => {
      while (next < requests) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  }

  const duration = clock.now() - start;
  const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0;
  return {
    requests,
    ok,
    failed: requests - ok,
    statuses,
    errors: [...errors],
    duration,
    throughput: duration > 0 ? (latencies.length - (statuses.error ?? 0)) / (duration / 1000) : 0,
    latency: { mean, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
  };
}
