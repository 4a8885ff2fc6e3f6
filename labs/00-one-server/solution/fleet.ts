import type { Cluster } from '@scale-lab/kit';
import { summarize, type Slo } from './measure.ts';
import { runLoad } from './run.ts';

/** A machine you can rent: its cores and its price. */
export interface Offer {
  name: string;
  cores: number;
  /** Dollars per hour, per machine. */
  pricePerHour: number;
}

/** What you rent: `count` machines of one offer, behind a balancer that spreads requests at random. */
export interface Fleet {
  machine: string;
  count: number;
}

/** How long each trial holds its rate: 10 s, and at least 400 requests, so that its p99 is not one unlucky request. */
const TRIAL_MS = 10_000;
const TRIAL_REQUESTS = 400;

/**
 * The cheapest fleet that serves `target` requests per second with its p99 within the SLO.
 * `trial(cores)` gives a fresh cluster with one app server of that many cores, running the same
 * app, to measure as you measured in findKnee.
 */
export async function chooseFleet(offers: Offer[], target: number, slo: Slo, trial: (cores: number) => Cluster): Promise<Fleet> {
  let best: Fleet | undefined;
  let bestBill = Infinity;
  // Biggest first: they need few trials, and a good bill found early rules out long rows of small machines.
  for (const offer of [...offers].sort((a, b) => b.cores - a.cores)) {
    // Throughput gives only the fewest machines that could possibly do it: each must also keep its p99.
    const ceiling = (await trial(offer.cores).load({ target: 'http://app/', concurrency: 50, requests: 100 })).throughput;
    // A balancer spreading at random sends each of n machines Poisson arrivals at target / n: try that on one.
    const holds = async (count: number): Promise<boolean> => {
      const rate = target / count;
      const duration = Math.max(TRIAL_MS, (TRIAL_REQUESTS / rate) * 1000);
      const run = await runLoad(trial(offer.cores), { rate, duration, interval: duration });
      return summarize(run).p99 <= slo.p99;
    };
    const fewest = Math.ceil(target / ceiling);
    // More machines only lighten each one: if the most that would still beat the best bill break the SLO, fewer do too.
    const most = Math.ceil(bestBill / offer.pricePerHour) - 1;
    if (Number.isFinite(most) && (most < fewest || !(await holds(most)))) continue;
    for (let count = fewest; count * offer.pricePerHour < bestBill; count++) {
      if (!(await holds(count))) continue;
      best = { machine: offer.name, count };
      bestBill = count * offer.pricePerHour;
    }
  }
  if (!best) throw new Error('no fleet meets the SLO');
  return best;
}
