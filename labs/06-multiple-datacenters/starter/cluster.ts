// Provided: the cluster of this lab. Your code is in dns.ts and app.ts.
import { Cluster, type ClusterOptions, type Handler, type NodeContext } from '@scale-lab/kit';
import { createApp } from './app.ts';
import { createDnsServer, type DnsServer } from './dns.ts';

/** The regions with a datacenter: each has a balancer lb-<region>, two app servers and a store kv-<region>. */
export const DATACENTERS = ['us-west', 'eu-west', 'ap-southeast'];

/** The regions readers are in; each has a DNS server dns-<region> that answers its readers' lookups. */
export const READER_REGIONS = ['us-east', 'us-west', 'eu-west', 'eu-central', 'ap-southeast', 'ap-sydney'];

/** The name readers type: http://www/ goes wherever their region's DNS server says. */
export const SITE = 'www';

/** The home region of each user, chosen when they signed up (step 3): their profile is written there. */
export const HOMES: Record<string, string> = { ada: 'eu-west', bo: 'us-west', chen: 'ap-southeast' };

/** How long a balancer waits for an app server before answering 502. */
export const BALANCER_TIMEOUT_MS = 2000;

export const balancerOf = (region: string) => `lb-${region}`;
export const appServersOf = (region: string) => [`app-${region}-1`, `app-${region}-2`];
export const storeOf = (region: string) => `kv-${region}`;
export const dnsServerOf = (region: string) => `dns-${region}`;

/** A user's home region (users the table does not know live in the first datacenter). */
export const homeOf = (user: string) => HOMES[user] ?? DATACENTERS[0]!;

/**
 * A datacenter's balancer: takes turns between the region's app servers and answers 502 when one
 * fails or takes too long. It answers GET /lb/status itself, without asking any app server.
 */
function createBalancer(ctx: NodeContext, servers: string[]): Handler {
  let next = 0;
  return async (req) => {
    if (new URL(req.url).pathname === '/lb/status') return Response.json({ balancer: ctx.name, servers });
    const server = servers[next++ % servers.length]!;
    try {
      return await ctx.forward(req, server, { signal: ctx.timeout(BALANCER_TIMEOUT_MS) });
    } catch {
      return new Response(`${server} did not answer`, { status: 502 });
    }
  };
}

/**
 * Three datacenters (us-west, eu-west, ap-southeast), each a balancer lb-<region> in front of
 * app-<region>-1 and -2 (app.ts) and a store kv-<region>. Readers in six regions look up http://www/
 * at their region's DNS server (dns.ts), which decides which balancer they get, and for how long.
 * Links between regions carry the measured round trips between AWS regions (AWS_REGION_RTT).
 */
export interface MultiDatacenterOptions extends ClusterOptions {
  /** The readers' regions that get a DNS server (default: all of READER_REGIONS). */
  readerRegions?: string[];
}

export function createMultiDatacenterCluster({ readerRegions = READER_REGIONS, ...options }: MultiDatacenterOptions = {}): Cluster {
  const cluster = new Cluster({ seed: 1, latency: 1, ...options });
  const datacenters = DATACENTERS.map((region) => ({ region, address: balancerOf(region) }));
  for (const region of DATACENTERS) {
    cluster.addStore(storeOf(region));
    const config = { region, store: storeOf(region), datacenters, homeOf };
    for (const name of appServersOf(region)) cluster.addNode(name, (ctx) => createApp(ctx, config));
    cluster.addNode(balancerOf(region), (ctx) => createBalancer(ctx, appServersOf(region)));
    cluster.place(region, storeOf(region), ...appServersOf(region), balancerOf(region));
  }
  const dnsServers = new Map<string, DnsServer>();
  for (const region of readerRegions) {
    cluster.addNode(dnsServerOf(region), (ctx) => {
      const server = createDnsServer(ctx, { site: SITE, datacenters });
      dnsServers.set(region, server);
      return server.handler;
    });
    cluster.place(region, dnsServerOf(region));
  }
  // A reader's lookup goes to the DNS server of the reader's region (anycast DNS does this).
  cluster.setResolver((host, asker) => (asker.region === undefined ? undefined : dnsServers.get(asker.region)?.resolve(host)));
  return cluster;
}
