// Shared by the graded tests of this lab: a fresh cluster per test, readers in every region with a
// browser cache and an analytics cookie of their own, page loads (the HTML, then the files it names),
// and a record of what the edges asked the origin for.
import { onTestFailed } from 'vitest';
import { percentile, seededRandom, type Client, type ClusterEvent } from '@scale-lab/kit';
import { EDGES, ORIGIN_REGION, READER_REGIONS, SITE_HOST, createCdnLab, nearestEdge, roundTrip, type CdnLab } from '../starter/cluster.ts';

export { EDGES, ORIGIN_REGION, READER_REGIONS, nearestEdge, roundTrip, percentile };
export type { CdnLab };

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** A change to a public page, or a new release, must reach every reader within this long. */
export const CHANGE_VISIBLE_MS = 5 * MINUTE;

/** What each reader's browser cache last did for a URL, by `${reader} ${url}`. */
const browserOutcomes = new WeakMap<CdnLab, Map<string, string>>();

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export async function cdnLab(seed = 1): Promise<CdnLab> {
  const lab = await createCdnLab({ seed });
  const outcomes = new Map<string, string>();
  browserOutcomes.set(lab, outcomes);
  lab.cluster.metrics.on((event) => {
    if (event.type === 'cache' && !(event.node in EDGES)) outcomes.set(`${event.node} ${event.key}`, event.outcome);
  });
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${lab.cluster.seed}: the same seed replays this run exactly)`;
  });
  return lab;
}

/** A reader: a browser in a region, with its own cache and cookies. */
export interface Reader {
  name: string;
  region: string;
  client: Client;
  /** The Cookie header the browser sends: an analytics id unique to it, and a session if signed in. */
  cookie: string;
}

/** A reader named `name` in `region` (the same name gives the same browser, cache included). */
export function reader(lab: CdnLab, name: string, region: string, user?: string): Reader {
  const client = lab.cluster.client(name, { region, cache: true });
  const cookie = `_ga=GA1.2.${name}` + (user ? `; session=${user}` : '');
  return { name, region, client, cookie };
}

/** One answer as the reader's browser got it. */
export interface Fetched {
  url: string;
  status: number;
  body: string;
  /** The release named inside it (HTML: data-release; CSS and JS: their first comment), if any. */
  release: string | undefined;
  cacheControl: string;
  vary: string;
  /** What the edge said it did (HIT, STALE, MISS…); null when the reader's browser answered from its own cache. */
  xCache: string | null;
}

/** A page as the reader saw it: the HTML, the files it names, and how long it all took. */
export interface PageLoad {
  page: Fetched;
  assets: Fetched[];
  ms: number;
}

async function get(lab: CdnLab, who: Reader, path: string): Promise<Fetched> {
  const url = `http://${SITE_HOST}${path}`;
  const res = await who.client.fetch(url, { headers: { cookie: who.cookie } });
  // The browser's own answer keeps the headers the edge sent when it was stored, x-cache included.
  const browser = browserOutcomes.get(lab)?.get(`${who.name} ${url}`);
  const fromBrowser = browser === 'hit' || browser === 'stale';
  const body = await res.text();
  const release = /data-release="([^"]+)"/.exec(body)?.[1] ?? /^\/\* release (\S+) \*\//.exec(body)?.[1];
  return { url: path, status: res.status, body, release, cacheControl: res.headers.get('cache-control') ?? '(none)', vary: res.headers.get('vary') ?? '', xCache: fromBrowser ? null : res.headers.get('x-cache') };
}

/** Loads `path` as `who`: the HTML, then (as a browser does, all at once) every /assets/ file it names. */
export function loadPage(lab: CdnLab, who: Reader, path: string): Promise<PageLoad> {
  const { cluster } = lab;
  return cluster.run(async () => {
    const start = cluster.clock.now();
    const page = await get(lab, who, path);
    const urls = [...page.body.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    const assets = await Promise.all(urls.map((url) => get(lab, who, url)));
    return { page, assets, ms: cluster.clock.now() - start };
  });
}

/** Loads a single URL as `who` (no assets). */
export function fetchAs(lab: CdnLab, who: Reader, path: string): Promise<Fetched> {
  return lab.cluster.run(() => get(lab, who, path));
}

/** Counts what each edge asks the origin for, by edge and path. */
export function originRequests(lab: CdnLab): { count(edge: string, path: string): number; byEdge(edge: string): Map<string, number>; reset(): void } {
  const counts = new Map<string, Map<string, number>>();
  lab.cluster.metrics.on((event) => {
    if (event.type !== 'request' || event.node !== 'origin') return;
    const perEdge = counts.get(event.from) ?? new Map<string, number>();
    perEdge.set(event.path, (perEdge.get(event.path) ?? 0) + 1);
    counts.set(event.from, perEdge);
  });
  return {
    count: (edge, path) => counts.get(edge)?.get(path) ?? 0,
    byEdge: (edge) => counts.get(edge) ?? new Map(),
    reset: () => counts.clear(),
  };
}

/** The edges' cache keys and outcomes, from the cluster's cache events. */
export function edgeOutcomes(lab: CdnLab): { keys: Set<string>; outcomes: { edge: string; key: string; outcome: string }[] } {
  const keys = new Set<string>();
  const outcomes: { edge: string; key: string; outcome: string }[] = [];
  lab.cluster.metrics.on((event) => {
    if (event.type !== 'cache' || !(event.node in EDGES)) return;
    keys.add(event.key);
    outcomes.push({ edge: event.node, key: event.key, outcome: event.outcome });
  });
  return { keys, outcomes };
}

/** A seeded pick from a list. */
export function picker(seed: number): <T>(items: readonly T[]) => T {
  const random = seededRandom(seed);
  return (items) => items[Math.floor(random() * items.length)]!;
}

/** What the reader needs to hear about a Cache-Control header that makes a page or file uncacheable or unshareable. */
export function diagnose(fetched: Fetched): string {
  const cc = fetched.cacheControl.toLowerCase();
  if (/(^|,)\s*cookie\s*(,|$)/i.test(fetched.vary)) return ' Its answers carry Vary: Cookie, and every reader\'s analytics cookie differs, so each reader gets a copy of their own and nobody else hits it.';
  if (/\bprivate\b/.test(cc)) return ' It is marked private, so no edge may keep it.';
  if (/\bno-cache\b/.test(cc)) return ' no-cache makes every edge ask the origin again before each use.';
  if (/\bno-store\b/.test(cc)) return ' no-store forbids every cache to keep it.';
  return '';
}

// What evidence(…) names in these tests: predicates over the cluster's events, so they cost nothing
// outside a recorded run.
/** Whether `actual` is `path`, or lies under it when `path` ends in / (and is not / itself). */
const pathIs = (path: string | undefined, actual: string) => path === undefined || actual === path || (path.length > 1 && path.endsWith('/') && actual.startsWith(path));
/** An edge's call to the origin (for `path`, or under it), answered or not. */
export const isOriginCall = (path?: string) => (e: ClusterEvent): e is Extract<ClusterEvent, { type: 'answered' | 'failed' }> =>
  (e.type === 'answered' || e.type === 'failed') && e.to === 'origin' && e.from in EDGES && pathIs(path, e.path);
/** What the readers named saw: their requests (for `path`, or under it), and their browser cache's answers. */
export const isReaderCall = (names: readonly string[], path?: string) => (e: ClusterEvent) =>
  ((e.type === 'answered' || e.type === 'failed') && names.includes(e.from) && pathIs(path, e.path)) ||
  (e.type === 'cache' && names.includes(e.node) && pathIs(path, new URL(e.key, 'http://www').pathname));
/** An edge's cache answer (hit, stale, miss…). */
export const isEdgeCache = (e: ClusterEvent): e is Extract<ClusterEvent, { type: 'cache' }> => e.type === 'cache' && e.node in EDGES;

export const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;
