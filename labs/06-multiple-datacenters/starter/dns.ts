import type { Handler, NodeContext, Resolution } from '@scale-lab/kit';

/** A datacenter readers can be sent to: its region and the address of its balancer (e.g. lb-eu-west). */
export interface Datacenter {
  region: string;
  address: string;
}

export interface DnsConfig {
  /** The name readers look up: "www". */
  site: string;
  datacenters: Datacenter[];
}

export interface DnsServer {
  /** What the DNS server answers over HTTP (for you: e.g. GET /status with what it knows). */
  handler: Handler;
  /** Answers a reader's lookup of `host`: the datacenter to use and for how long (ms); undefined for a name it does not serve. */
  resolve(host: string): Resolution | undefined;
}

/**
 * The DNS server of one readers' region (ctx.name is dns-<region>): it answers the lookups of the
 * readers in its region. Today every reader everywhere gets the first datacenter, for a day.
 */
export function createDnsServer(ctx: NodeContext, { site, datacenters }: DnsConfig): DnsServer {
  const ONE_DAY_MS = 24 * 60 * 60 * 1000;
  return {
    handler: () => Response.json({ server: ctx.name, datacenters }),
    resolve(host) {
      if (host !== site) return undefined;
      return { address: datacenters[0]!.address, ttl: ONE_DAY_MS };
    },
  };
}
