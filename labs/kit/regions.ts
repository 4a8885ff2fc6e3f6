/**
 * Regions: where nodes and clients are, and how far apart. The default figures are average
 * round-trip pings between AWS regions, as published in "Latency Between AWS Global Regions"
 * (reproduced in https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html),
 * rounded to the millisecond and averaged over both directions; a link carries half of a round trip.
 */

/** Round-trip time in ms between two regions, by name, each pair once. */
export type RegionMatrix = Record<string, Record<string, number>>;

export const AWS_REGION_RTT: RegionMatrix = {
  'us-east': { 'us-west': 88, 'eu-west': 81, 'eu-central': 89, 'ap-northeast': 145, 'ap-southeast': 217, 'ap-sydney': 230, 'sa-east': 120 },
  'us-west': { 'eu-west': 137, 'eu-central': 160, 'ap-northeast': 89, 'ap-southeast': 161, 'ap-sydney': 162, 'sa-east': 183 },
  'eu-west': { 'eu-central': 20, 'ap-northeast': 212, 'ap-southeast': 239, 'ap-sydney': 310, 'sa-east': 191 },
  'eu-central': { 'ap-northeast': 237, 'ap-southeast': 326, 'ap-sydney': 324, 'sa-east': 195 },
  'ap-northeast': { 'ap-southeast': 74, 'ap-sydney': 104, 'sa-east': 257 },
  'ap-southeast': { 'ap-sydney': 175, 'sa-east': 328 },
  'ap-sydney': { 'sa-east': 323 },
};

/** The round trip between two regions in `matrix`, whichever way round it lists them; undefined if absent. */
export function roundTrip(matrix: RegionMatrix, a: string, b: string): number | undefined {
  return matrix[a]?.[b] ?? matrix[b]?.[a];
}

/** What a name resolver answers: the node to send to, and how long the asker may keep the answer. */
export interface Resolution {
  address: string;
  /** ms the answer may be cached (DNS TTL, in ms like the rest of the kit). */
  ttl: number;
}

/** Who asks a resolver: a client and its region. */
export interface Asker {
  name: string;
  region: string | undefined;
}

/** Lab code: which node a client gets for a host name (GeoDNS, global load balancing), or undefined. */
export type Resolver = (host: string, asker: Asker) => Resolution | undefined;
