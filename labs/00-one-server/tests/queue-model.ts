// The grader's own answer to "where is the knee": a long, seeded simulation of the same server
// (Poisson arrivals, one FIFO queue, `cores` cores, the same work distribution), swept over the rate.
import { seededRandom } from '@scale-lab/kit';

export interface ServerModel {
  cores: number;
  /** CPU time of one request, drawn uniformly in [min, max] ms, as the kit draws it. */
  work: { distribution: 'uniform'; min: number; max: number };
}

/** Requests per second the cores can do at most: cores / mean work. */
export function ceilingOf(model: ServerModel): number {
  return (model.cores * 1000) / ((model.work.min + model.work.max) / 2);
}

export interface QueueModel {
  /** Steady-state latency at `rate` requests per second, in ms: its p90, its p99 and its mean. */
  at(rate: number): { p90: number; p99: number; mean: number };
  /** The highest rate whose steady-state p99 stays within `sloMs`, to 0.2 %. */
  knee(sloMs: number): number;
}

/**
 * The same random gaps and work draws serve every rate tried (only the gaps are scaled), so latency
 * grows with the rate and a bisection finds the crossing exactly for this sample of 20,000 arrivals.
 */
export function queueModel(model: ServerModel, seed: number, arrivals = 20_000): QueueModel {
  const random = seededRandom(seed);
  const gaps = Array.from({ length: arrivals }, () => -Math.log(1 - random()));
  const work = Array.from({ length: arrivals }, () => model.work.min + random() * (model.work.max - model.work.min));
  const warmUp = Math.floor(arrivals / 10);
  const at = (rate: number) => {
    const free = new Float64Array(model.cores);
    const latencies = new Float64Array(arrivals - warmUp);
    let t = 0;
    let sum = 0;
    for (let i = 0; i < arrivals; i++) {
      t += (gaps[i]! * 1000) / rate;
      let core = 0;
      for (let c = 1; c < model.cores; c++) if (free[c]! < free[core]!) core = c;
      free[core] = Math.max(t, free[core]!) + work[i]!;
      if (i >= warmUp) sum += latencies[i - warmUp] = free[core]! - t;
    }
    // A typed array sorts as numbers, and fast.
    latencies.sort();
    const rank = (p: number) => latencies[Math.ceil(p * latencies.length) - 1]!;
    return { p90: rank(0.9), p99: rank(0.99), mean: sum / latencies.length };
  };
  return {
    at,
    knee(sloMs) {
      let low = 0;
      let high = ceilingOf(model);
      while (high - low > high / 500) {
        const mid = (low + high) / 2;
        if (at(mid).p99 <= sloMs) low = mid;
        else high = mid;
      }
      return low;
    },
  };
}
