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

/** How often each datacenter is checked from here, and how long a check may take. */
const CHECK_EVERY_MS = 1000;
const CHECK_TIMEOUT_MS = 500;
/** Failed checks in a row that take a datacenter out; good checks in a row that bring it back. */
const OUT_AFTER = 3;
const BACK_AFTER = 5;
/** How long a reader keeps an answer: a failover reaches every reader at most this long after DNS changes. */
const TTL_MS = 5000;

interface Health {
  dc: Datacenter;
  /** The round trip of the last good check, from this region, in ms. */
  rtt: number | undefined;
  up: boolean;
  /** > 0: good checks in a row; < 0: failed checks in a row. */
  streak: number;
}

/**
 * The DNS server of one readers' region (ctx.name is dns-<region>). It checks every datacenter's
 * /health through its balancer, so the round trip it measures is the one its readers will get, and
 * answers with the nearest datacenter that is up.
 */
export function createDnsServer(ctx: NodeContext, { site, datacenters }: DnsConfig): DnsServer {
  const health: Health[] = datacenters.map((dc) => ({ dc, rtt: undefined, up: true, streak: 0 }));

  async function check(h: Health): Promise<void> {
    const started = ctx.now();
    let ok = false;
    try {
      // Through the balancer to an app server, which checks its store: a balancer alone proves nothing.
      const res = await ctx.fetch(`http://${h.dc.address}/health`, { signal: ctx.timeout(CHECK_TIMEOUT_MS) });
      ok = res.ok;
    } catch {
      ok = false;
    }
    if (ok) h.rtt = ctx.now() - started;
    h.streak = ok ? Math.max(h.streak, 0) + 1 : Math.min(h.streak, 0) - 1;
    if (h.streak <= -OUT_AFTER) h.up = false;
    if (h.streak >= BACK_AFTER) h.up = true;
  }
  const checkAll = () => {
    for (const h of health) void check(h);
  };
  checkAll();
  ctx.setInterval(checkAll, CHECK_EVERY_MS);

  return {
    handler: () => Response.json({ server: ctx.name, health: health.map(({ dc, rtt, up, streak }) => ({ region: dc.region, rtt, up, streak })) }),
    resolve(host): Resolution | undefined {
      if (host !== site) return undefined;
      const measured = health.filter((h) => h.rtt !== undefined).sort((a, b) => a.rtt! - b.rtt!);
      // With every datacenter down, answer the nearest anyway: an answer that may work beats none.
      const best = measured.find((h) => h.up) ?? measured[0] ?? health[0]!;
      return { address: best.dc.address, ttl: TTL_MS };
    },
  };
}
