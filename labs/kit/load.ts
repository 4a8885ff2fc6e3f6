/**
 * The load generator. Closed loop: a fixed number of requests in flight, each sent when the one
 * before it is answered (a slow server slows the load down). Open loop: requests arrive at a rate,
 * whatever the answers, as users do (a slow server piles up work). Reports throughput, errors and
 * latency percentiles, overall and per interval, each computed from the raw samples.
 */
import type { Clock } from './clock.ts';
import { percentile } from './metrics.ts';

/** Requests per second: fixed, ramping linearly over the run's `duration`, or in steps (`at` in ms from the start). */
export type LoadRate = number | { from: number; to: number } | { steps: { at: number; rate: number }[] };

export interface LoadOptions {
  /** The URL to request, or a function giving the i-th request (0-based). */
  target: string | ((i: number) => string | Request);
  /** How many requests to send. At least one of `requests` and `duration` is needed. */
  requests?: number;
  /** Stop starting requests after this many ms of cluster time (answers are still awaited). */
  duration?: number;
  /** Closed loop: this many requests in flight at once (default 10). Ignored when `rate` is set. */
  concurrency?: number;
  /** Open loop: start requests at this rate, whatever the answers. */
  rate?: LoadRate;
  /** Open loop: `poisson` (default; seeded random gaps, as independent users arrive) or `even` gaps. */
  arrivals?: 'poisson' | 'even';
  /** Length of each reporting interval, in ms (default 1,000). */
  interval?: number;
  /**
   * Who sends: a number of browser-like clients (`client-1`, `client-2`, …) or their names; the i-th
   * request comes from client i mod n, with that client's cookies. Default: the anonymous `client`,
   * which keeps no cookies.
   */
  clients?: number | string[];
}

export interface LatencySummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** What happened in one interval: requests started in it (`sent`) and requests that ended in it. */
export interface LoadInterval {
  /** ms from the start of the run. */
  start: number;
  end: number;
  sent: number;
  /** Requests that ended in this interval: answered with any status, or failed without an answer. */
  completed: number;
  ok: number;
  failed: number;
  /** Answered requests (any status) per second in this interval. */
  throughput: number;
  /** failed / completed, 0 when nothing completed. */
  errorRate: number;
  /** Of the requests that ended in this interval. */
  latency: LatencySummary;
}

export interface LoadReport {
  requests: number;
  /** Answered with a 2xx status. */
  ok: number;
  /** Answered with another status, or not answered at all. */
  failed: number;
  /** failed / requests. */
  errorRate: number;
  /** How many answers of each status; `error` counts requests that got no answer. */
  statuses: Record<string, number>;
  /** Up to five distinct reasons requests got no answer. */
  errors: string[];
  /** Cluster time from the first request to the last answer, in ms. */
  duration: number;
  /** Answered requests per second of cluster time. */
  throughput: number;
  /** Latency seen by the client, in ms of cluster time, over every request. */
  latency: LatencySummary;
  /** The run cut into `interval`-long slices. */
  intervals: LoadInterval[];
}

/** Something that sends requests: the anonymous client, or a named one with its cookies. */
export interface LoadSender {
  fetch(request: string | Request): Promise<Response>;
}

interface Sample {
  start: number;
  end: number;
  ok: boolean;
  /** Got an answer (any status). */
  answered: boolean;
}

/** Rounds to the microsecond, so fractional arrival times give readable latencies. */
const micro = (ms: number) => Math.round(ms * 1000) / 1000;

function summary(latencies: number[]): LatencySummary {
  const mean = latencies.length ? micro(latencies.reduce((a, b) => a + b, 0) / latencies.length) : 0;
  return { mean, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: percentile(latencies, 100) };
}

/** The rate in force `t` ms into a run of `duration` ms. */
function rateAt(rate: LoadRate, t: number, duration: number): number {
  if (typeof rate === 'number') return rate;
  if ('steps' in rate) {
    let current = 0;
    for (const step of rate.steps) if (step.at <= t) current = step.rate;
    return current;
  }
  return rate.from + (rate.to - rate.from) * Math.min(1, t / duration);
}

function checkRate(rate: LoadRate, duration: number | undefined): number {
  const rates = typeof rate === 'number' ? [rate] : 'steps' in rate ? rate.steps.map((s) => s.rate) : [rate.from, rate.to];
  if (rates.length === 0 || rates.some((r) => !(r >= 0)) || !rates.some((r) => r > 0)) throw new Error(`load: rates must be non-negative numbers, at least one positive; got ${JSON.stringify(rate)}`);
  if (typeof rate !== 'number' && duration === undefined) throw new Error('load: a ramp or steps of rates needs a duration (ms)');
  return Math.max(...rates);
}

export async function generateLoad(senders: LoadSender[], clock: Clock, random: () => number, options: LoadOptions): Promise<LoadReport> {
  const { requests, duration } = options;
  if (requests !== undefined && (!Number.isInteger(requests) || requests < 0)) throw new Error(`load: requests must be a whole number, got ${requests}`);
  if (duration !== undefined && !(duration >= 0)) throw new Error(`load: duration must be a number of ms, got ${duration}`);
  if (requests === undefined && duration === undefined) throw new Error('load: say how many requests to send, or for how long (duration in ms)');
  const interval = options.interval ?? 1000;
  if (!(interval > 0)) throw new Error(`load: interval must be a positive number of ms, got ${interval}`);
  const targetOf = typeof options.target === 'function' ? options.target : () => options.target as string;
  const samples: Sample[] = [];
  const statuses: Record<string, number> = {};
  const errors = new Set<string>();
  const start = clock.now();
  const more = (i: number) => (requests === undefined || i < requests) && (duration === undefined || clock.now() - start < duration);

  const one = async (i: number) => {
    const t0 = clock.now();
    const sample: Sample = { start: t0, end: t0, ok: false, answered: false };
    try {
      const res = await senders[i % senders.length]!.fetch(targetOf(i));
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      sample.ok = res.ok;
      sample.answered = true;
    } catch (err) {
      statuses.error = (statuses.error ?? 0) + 1;
      if (errors.size < 5) errors.add(err instanceof Error ? err.message : String(err));
    }
    sample.end = clock.now();
    samples.push(sample);
  };

  let sent = 0;
  if (options.rate !== undefined) {
    const peak = checkRate(options.rate, duration);
    const rate = options.rate;
    const poisson = (options.arrivals ?? 'poisson') === 'poisson';
    const all: Promise<void>[] = [];
    let t = 0;
    while (requests === undefined || sent < requests) {
      let keep: boolean;
      let at: number;
      if (poisson) {
        // Thinning: candidates arrive at the peak rate; each is kept with probability rate(t) / peak.
        t += (-Math.log(1 - random()) * 1000) / peak;
        at = micro(t);
        keep = random() * peak < rateAt(rate, at, duration ?? 0);
      } else {
        // Even gaps: one request now, the next one period of the current rate later (a rate of 0 waits for the next step).
        at = micro(t);
        const now = rateAt(rate, at, duration ?? 0);
        t += now > 0 ? 1000 / now : 1;
        keep = now > 0;
      }
      if (duration !== undefined && at >= duration) break;
      if (!keep) continue;
      const due = start + at;
      if (due > clock.now()) await clock.sleep(due - clock.now());
      if (!more(sent)) break;
      all.push(one(sent++));
    }
    // The run lasts its duration even when the rate falls to 0 before the end.
    if (duration !== undefined && clock.now() < start + duration) await clock.sleep(start + duration - clock.now());
    await Promise.all(all);
  } else {
    const concurrency = Math.max(1, options.concurrency ?? 10);
    const worker = async () => {
      while (more(sent)) await one(sent++);
    };
    await Promise.all(Array.from({ length: requests === undefined ? concurrency : Math.min(concurrency, requests) }, worker));
  }

  const end = clock.now();
  const latencies = samples.map((s) => micro(s.end - s.start));
  const answered = samples.filter((s) => s.answered).length;
  const ok = samples.filter((s) => s.ok).length;
  const runTime = end - start;
  return {
    requests: sent,
    ok,
    failed: sent - ok,
    errorRate: sent > 0 ? (sent - ok) / sent : 0,
    statuses,
    errors: [...errors],
    duration: micro(runTime),
    throughput: runTime > 0 ? answered / (runTime / 1000) : 0,
    latency: summary(latencies),
    intervals: intervalsOf(samples, start, end, interval),
  };
}

/** Cuts the samples into intervals: sent by when they started, the rest by when they ended. */
function intervalsOf(samples: Sample[], start: number, end: number, interval: number): LoadInterval[] {
  const count = Math.max(1, Math.ceil((end - start) / interval));
  const slot = (t: number) => Math.min(count - 1, Math.floor((t - start) / interval));
  const buckets = Array.from({ length: count }, () => ({ sent: 0, ended: [] as Sample[] }));
  for (const s of samples) {
    buckets[slot(s.start)]!.sent++;
    buckets[slot(s.end)]!.ended.push(s);
  }
  return buckets.map((b, k) => {
    const from = k * interval;
    const to = Math.min((k + 1) * interval, micro(end - start));
    const ok = b.ended.filter((s) => s.ok).length;
    const answered = b.ended.filter((s) => s.answered).length;
    const seconds = (to - from) / 1000;
    return {
      start: from,
      end: to,
      sent: b.sent,
      completed: b.ended.length,
      ok,
      failed: b.ended.length - ok,
      throughput: seconds > 0 ? answered / seconds : 0,
      errorRate: b.ended.length > 0 ? (b.ended.length - ok) / b.ended.length : 0,
      latency: summary(b.ended.map((s) => micro(s.end - s.start))),
    };
  });
}
