// Provided: the cluster of this lab. Your code is in origin.ts, edge.ts and deploy.ts.
import { AWS_REGION_RTT, Cluster, type ClusterOptions } from '@scale-lab/kit';
import { cacheKey } from './edge.ts';
import { createOrigin } from './origin.ts';
import { BUILDS, PURGE_MS, SiteStore, UPLOAD_MS, fingerprint, type SiteAdmin } from './site.ts';

/** The origin stands in Frankfurt. */
export const ORIGIN_REGION = 'eu-central';

/** The edges, by name, and the region each stands in. */
export const EDGES: Record<string, string> = { 'edge-us': 'us-east', 'edge-eu': 'eu-west', 'edge-ap': 'ap-sydney' };

/** Readers' regions: everywhere. */
export const READER_REGIONS = ['us-east', 'us-west', 'sa-east', 'eu-west', 'eu-central', 'ap-sydney', 'ap-southeast', 'ap-northeast'];

/** Readers ask for the site by this name; the resolver sends each to the edge nearest to it. */
export const SITE_HOST = 'www';

/** One-way latency inside a region, in ms; between regions, half the round trip of AWS_REGION_RTT. */
export const LOCAL_LATENCY_MS = 2;

/** The round trip between two regions, in ms (0 for the same region). */
export function roundTrip(a: string, b: string): number {
  return a === b ? 0 : (AWS_REGION_RTT[a]?.[b] ?? AWS_REGION_RTT[b]?.[a] ?? Infinity);
}

/** The edge with the shortest round trip from `region`. */
export function nearestEdge(region: string): string {
  return Object.keys(EDGES).reduce((best, edge) => (roundTrip(region, EDGES[edge]!) < roundTrip(region, EDGES[best]!) ? edge : best));
}

export interface CdnLab {
  cluster: Cluster;
  /** The origin's files, pages and published manifests. */
  site: SiteStore;
  /** What deploy.ts gets. */
  admin: SiteAdmin;
}

/**
 * The origin in eu-central, running origin.ts; three edges (edge-us, edge-eu, edge-ap) in front of it,
 * each a shared HTTP cache keyed by edge.ts's cacheKey; and release v1 live, its files fingerprinted.
 */
export async function createCdnLab(options: ClusterOptions = {}): Promise<CdnLab> {
  const cluster = new Cluster({ seed: 1, latency: LOCAL_LATENCY_MS, ...options });
  const site = new SiteStore();
  cluster.addNode('origin', (ctx) => createOrigin(ctx, site));
  cluster.place(ORIGIN_REGION, 'origin');
  for (const [edge, region] of Object.entries(EDGES)) {
    cluster.addEdge(edge, { origin: 'origin', key: (request) => cacheKey(request) });
    cluster.place(region, edge);
  }
  cluster.setResolver((host, asker) => (host === SITE_HOST && asker.region ? { address: nearestEdge(asker.region), ttl: 60_000 } : undefined));

  const v1 = BUILDS.v1!;
  const assets: Record<string, string> = {};
  for (const [name, content] of Object.entries(v1.files)) {
    assets[name] = `/assets/${fingerprint(name, content)}`;
    site.files.set(assets[name], content);
  }
  site.published.push({ version: v1.version, assets });

  const purgeEverywhere = async (key: string | undefined) => {
    await cluster.clock.sleep(PURGE_MS);
    for (const edge of Object.keys(EDGES)) cluster.cache(edge).purge(key);
  };
  const admin: SiteAdmin = {
    upload: async (path, content) => {
      await cluster.clock.sleep(UPLOAD_MS);
      site.files.set(path, content);
    },
    remove: async (path) => void site.files.delete(path),
    list: () => [...site.files.keys()],
    publish: async (manifest) => void site.published.push({ version: manifest.version, assets: { ...manifest.assets } }),
    history: () => site.published.map((m) => ({ version: m.version, assets: { ...m.assets } })),
    purge: (path) => purgeEverywhere(cacheKey(new Request(`http://${SITE_HOST}${path}`))),
    purgeAll: () => purgeEverywhere(undefined),
  };
  return { cluster, site, admin };
}

export async function createCdnCluster(options: ClusterOptions = {}): Promise<Cluster> {
  return (await createCdnLab(options)).cluster;
}
