import type { Cluster } from '@scale-lab/kit';
import type { Slo } from './measure.ts';

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

/**
 * The cheapest fleet that serves `target` requests per second with its p99 within the SLO.
 * `trial(cores)` gives a fresh cluster with one app server of that many cores, running the same
 * app, to measure as you measured in findKnee.
 */
export async function chooseFleet(offers: Offer[], target: number, slo: Slo, trial: (cores: number) => Cluster): Promise<Fleet> {
  // Sized by throughput: each machine's requests per second flat out, and enough of them to add up to the target.
  let best: Fleet | undefined;
  let bestBill = Infinity;
  for (const offer of offers) {
    const ceiling = (await trial(offer.cores).load({ target: 'http://app/', concurrency: 50, requests: 200 })).throughput;
    const count = Math.ceil(target / ceiling);
    if (count * offer.pricePerHour < bestBill) {
      best = { machine: offer.name, count };
      bestBill = count * offer.pricePerHour;
    }
  }
  return best!;
}
