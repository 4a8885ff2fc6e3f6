import { expect, test } from 'vitest';
import { AWS_REGION_RTT, evidence, type Cluster, type RegionMatrix } from '@scale-lab/kit';
import { READER_REGIONS, WARM_UP_MS, callsFrom, median, mostCommon, multiDcCluster, nearest, roundTrip, trackDatacenters, visit } from './helpers.ts';

/** A reader's median may exceed the round trip to the nearest datacenter by this much (the hops inside it). */
const SLACK_MS = 10;
const VISITS = 8;
const EVERY_MS = 250;

/** The reader in `region` of the group `tag`. */
const readerName = (tag: string, region: string) => `reader-${tag}-${region}`;

/** Readers (one per region given, each new) visit the site; per region: the median time and where they went. */
async function visitFrom(cluster: Cluster, regions: string[], tag: string): Promise<Map<string, { p50: number; datacenter: string }>> {
  const where = trackDatacenters(cluster);
  const readers = regions.map((region) => cluster.client(readerName(tag, region), { region }));
  const visits = await cluster.run(() => Promise.all(readers.map(async (reader) => {
    const seen = [];
    for (let i = 0; i < VISITS; i++) {
      seen.push(await visit(cluster, where, reader, '/boards/welcome'));
      await cluster.sleep(EVERY_MS);
    }
    return seen;
  })));
  return new Map(regions.map((region, i) => [region, { p50: median(visits[i]!.map((v) => (v.status === 200 ? v.ms : Infinity))), datacenter: mostCommon(visits[i]!.map((v) => v.datacenter)) }]));
}

function expectNearest(results: Map<string, { p50: number; datacenter: string }>, matrix: RegionMatrix, situation: string, advice: string, tag: string): void {
  for (const [region, { p50, datacenter }] of results) {
    const best = nearest(region, matrix);
    const bound = roundTrip(region, best, matrix) + SLACK_MS;
    const why = datacenter === best
      ? `they went to ${best}, yet waited longer than the round trip`
      : `they were sent to ${datacenter} (${roundTrip(region, datacenter, matrix)} ms round trip) while ${best} is ${roundTrip(region, best, matrix)} ms away`;
    evidence(`the visits of the reader in ${region}, and the datacenter each went to`, callsFrom([readerName(tag, region)]));
    expect(p50, `${situation}readers in ${region} were sent to ${datacenter}, median ${Number.isFinite(p50) ? `${p50} ms` : 'no answer'}, at most ${bound} ms: ${why}; ${advice}`).toBeLessThanOrEqual(bound);
  }
}

test(`each reader is sent to the datacenter nearest in measured round trip: median within ${SLACK_MS} ms of it, in every region`, async () => {
  const cluster = multiDcCluster();
  await cluster.sleep(WARM_UP_MS);
  const results = await visitFrom(cluster, READER_REGIONS, 'a');
  const used = new Set([...results.values()].map((r) => r.datacenter));
  evidence("every reader's visits, and the datacenter each went to", callsFrom(READER_REGIONS.map((region) => readerName('a', region))));
  expect(used.size, `every reader went to ${[...used].join(', ')}, wherever they are: readers in ${READER_REGIONS.filter((r) => nearest(r) !== [...used][0]).join(', ')} waited on a far datacenter for every request; the DNS server of each region should answer with the datacenter nearest to its readers`).toBeGreaterThan(1);
  expectNearest(results, AWS_REGION_RTT, '', 'the nearest datacenter is the one with the shortest round trip measured from the region, not the one whose name or place on a map looks closest', 'a');
});

test('when a route between regions slows down, new readers go to the datacenter that is now nearer', async () => {
  const moved = ['ap-sydney', 'eu-central'];
  const cluster = multiDcCluster({ readerRegions: moved });
  // A DNS server that has been running for a while: ten seconds of round trips before the routes change.
  const HISTORY_MS = 10_000;
  await cluster.sleep(HISTORY_MS);
  // A cable cut: two routes get much slower; the nearest datacenter for two regions changes.
  const matrix: RegionMatrix = Object.fromEntries(Object.entries(AWS_REGION_RTT).map(([a, row]) => [a, { ...row }]));
  matrix['us-west']!['ap-sydney'] = 300;
  matrix['eu-west']!['eu-central'] = 240;
  cluster.setRegionLatency(matrix);
  await cluster.sleep(6000);
  const results = await visitFrom(cluster, moved, 'b');
  // Followed the bigger change and not the smaller: the figures move, but slowly.
  const followed = moved.filter((region) => results.get(region)!.datacenter === nearest(region, matrix));
  const advice = followed.length > 0 && followed.length < moved.length
    ? `your DNS server followed the change for ${followed.join(', ')} and not the other: an average over every round trip since it started moves slower the longer it runs; keep the last round trip, or an average of the last few`
    : 'a table of distances, or a round trip measured once, goes stale when routes change: measure each datacenter from each region again and again';
  expectNearest(results, matrix, `${HISTORY_MS / 1000} s after start, the routes us-west ↔ ap-sydney and eu-west ↔ eu-central slowed to 300 and 240 ms; 6 s later, new `, advice, 'b');
});
