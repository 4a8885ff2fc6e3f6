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
  /** The server modelled. */
  server: ServerModel;
  /** Steady-state latency at `rate` requests per second, in ms: its p90, its p99 and its mean. */
  at(rate: number): { p90: number; p99: number; mean: number };
  /** Whether the steady-state p99 at `rate` is within `sloMs`: one simulation, where `knee` takes nine. */
  holds(rate: number, sloMs: number): boolean;
  /** The highest rate whose steady-state p99 stays within `sloMs`, to 0.2 %. */
  knee(sloMs: number): number;
  /** The share of measurements holding `rate` for `windowMs` that see their p99 within `sloMs`. */
  windowsHold(rate: number, sloMs: number, windowMs: number): number;
  /**
   * The highest rate at which a measurement holding it for `windowMs` sees its p99 within `sloMs`
   * with at least `probability`: the model's arrivals cut into windows of that length, each window's
   * own p99 checked. A short measurement's p99 comes from a few hundred requests and moves with
   * every burst, so honest answers spread around the knee; this is how far. `within` narrows the
   * search when the answer is known to lie between two rates.
   */
  windowKnee(sloMs: number, windowMs: number, probability: number, within?: [number, number]): number;
}

/**
 * The same random gaps and work draws serve every rate tried (only the gaps are scaled), so latency
 * grows with the rate and a bisection finds the crossing exactly for this sample of arrivals.
 */
export function queueModel(model: ServerModel, seed: number, arrivals = 20_000): QueueModel {
  const random = seededRandom(seed);
  // Every gap first, then every work draw: the order of the draws fixes the sample.
  const gaps = new Float64Array(arrivals);
  for (let i = 0; i < arrivals; i++) gaps[i] = -Math.log(1 - random());
  const work = new Float64Array(arrivals);
  for (let i = 0; i < arrivals; i++) work[i] = model.work.min + random() * (model.work.max - model.work.min);
  const warmUp = Math.floor(arrivals / 10);
  const cores = model.cores;
  const free = new Float64Array(cores);
  const latencies = new Float64Array(arrivals - warmUp);
  /** Fills `latencies` with every request's latency after the warm-up, at `rate`. */
  const simulate = (rate: number) => {
    free.fill(0);
    let t = 0;
    for (let i = 0; i < arrivals; i++) {
      t += (gaps[i]! * 1000) / rate;
      // The core that frees up first takes the request (one FIFO queue in front of all cores).
      let core = 0;
      let earliest = free[0]!;
      for (let c = 1; c < cores; c++) {
        if (free[c]! < earliest) {
          earliest = free[c]!;
          core = c;
        }
      }
      const done = Math.max(t, earliest) + work[i]!;
      free[core] = done;
      if (i >= warmUp) latencies[i - warmUp] = done - t;
    }
  };
  const at = (rate: number) => {
    simulate(rate);
    let sum = 0;
    for (let i = 0; i < latencies.length; i++) sum += latencies[i]!;
    // A typed array sorts as numbers, and fast.
    const sorted = latencies.slice().sort();
    const rank = (p: number) => sorted[Math.ceil(p * sorted.length) - 1]!;
    return { p90: rank(0.9), p99: rank(0.99), mean: sum / sorted.length };
  };
  /** Whether the p99 at `rate` is within `sloMs`: at least 99 % of the latencies are, counted without sorting. */
  const holds = (rate: number, sloMs: number) => {
    simulate(rate);
    let within = 0;
    for (let i = 0; i < latencies.length; i++) if (latencies[i]! <= sloMs) within++;
    return within >= Math.ceil(0.99 * latencies.length);
  };
  /** The share of windows of `windowMs` of arrivals at `rate` whose own p99 is within `sloMs`. */
  const windowsHold = (rate: number, sloMs: number, windowMs: number) => {
    const size = Math.max(10, Math.round((rate * windowMs) / 1000));
    simulate(rate);
    let held = 0;
    let windows = 0;
    for (let start = 0; start + size <= latencies.length; start += size) {
      let within = 0;
      for (let i = start; i < start + size; i++) if (latencies[i]! <= sloMs) within++;
      windows++;
      if (within >= Math.ceil(0.99 * size)) held++;
    }
    return held / windows;
  };
  /** The highest rate between `low` and `high` at which `ok` holds, to 0.2 % (it holds less as the rate grows). */
  const highest = (ok: (rate: number) => boolean, [low, high] = [0, ceilingOf(model)]) => {
    while (high - low > high / 500) {
      const mid = (low + high) / 2;
      if (ok(mid)) low = mid;
      else high = mid;
    }
    return low;
  };
  return {
    server: model,
    at,
    holds,
    knee: (sloMs) => highest((rate) => holds(rate, sloMs)),
    windowsHold,
    windowKnee: (sloMs, windowMs, probability, within) => highest((rate) => windowsHold(rate, sloMs, windowMs) >= probability, within),
  };
}
