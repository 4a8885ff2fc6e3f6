import { expect, test } from 'vitest';
import { evidence, seededRandom } from '@scale-lab/kit';
import { EDGES, MINUTE, READER_REGIONS, cdnLab, edgeOutcomes, fetchAs, isEdgeCache, isOriginCall, isReaderCall, loadPage, originRequests, picker, reader, type Fetched } from './helpers.ts';

/** The query parameters the origin reads; every other one is somebody's tracking. */
const READ_BY_ORIGIN = new Set(['q', 'page']);
const MIN_ASSET_HIT_RATIO = 0.95;
const hit = (f: Fetched) => f.xCache === 'HIT' || f.xCache === 'STALE' || f.xCache === 'REVALIDATED';
const percent = (x: number) => `${Math.round(x * 100)} %`;

/** The parameters other than q and page that the edges' keys kept, sorted, if the keys read as URLs. */
function trackingInKeys(keys: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const key of keys) {
    const at = key.indexOf('?');
    if (at < 0) continue;
    for (const name of new URLSearchParams(key.slice(at + 1)).keys()) if (!READ_BY_ORIGIN.has(name)) names.add(name);
  }
  return [...names].sort();
}

test('tracking parameters do not split the cache: edges hit at least 95 % of asset requests, and ask the origin for a page at most once every 30 s', async () => {
  const lab = await cdnLab();
  const origin = originRequests(lab);
  const edges = edgeOutcomes(lab);
  const pick = picker(21);
  const random = seededRandom(22);
  const id = () => Math.floor(random() * 2 ** 32).toString(36);
  const links = [
    () => `/products/2?utm_source=newsletter&utm_medium=email&utm_campaign=winter&mc_eid=${id()}`,
    () => `/products/3?fbclid=IwAR${id()}`,
    () => `/?gclid=Cj0K${id()}`,
    () => `/products/1?msclkid=${id()}`,
  ];
  const assets: Fetched[] = [];
  const pages: string[] = [];
  // A normal day first: every region reads the home page, so the edges hold the site's files.
  for (const region of READER_REGIONS) await loadPage(lab, reader(lab, `${region}-regular`, region), '/');
  const campaign = lab.cluster.clock.now();
  const end = campaign + 3 * MINUTE;
  // Three minutes of a campaign: every 2.5 seconds, a new reader follows a tracked link, or opens the
  // newsletter, whose logo carries the recipient's tracking parameters.
  for (let i = 0; lab.cluster.clock.now() < end; i++) {
    const region = READER_REGIONS[i % READER_REGIONS.length]!;
    const who = reader(lab, `campaign-${i}`, region);
    const start = lab.cluster.clock.now();
    if (i % 2 === 0) {
      const load = await loadPage(lab, who, pick(links)());
      if (load.page.status !== 200) evidence(`${who.name}'s page load of ${load.page.url}`, isReaderCall([who.name]));
      expect(load.page.status, `${load.page.url} answered ${load.page.status}`).toBe(200);
      pages.push(new URL(load.page.url, 'http://www').pathname);
      assets.push(...load.assets);
    } else {
      const logo = lab.site.live().assets['logo.svg']!;
      assets.push(await fetchAs(lab, who, `${logo}?utm_source=newsletter&utm_medium=email&mc_eid=${id()}&_hsenc=p2AN${id()}`));
    }
    await lab.cluster.sleep(Math.max(0, 2500 - (lab.cluster.clock.now() - start)));
  }
  const hits = assets.filter(hit).length;
  evidence('what the edges answered for files under /assets/ during the campaign, under which cache keys', (e) => isEdgeCache(e) && e.at >= campaign && e.key.includes('/assets/'));
  const tracking = trackingInKeys(edges.keys);
  const why = tracking.length > 0 ? ` The edges' keys kept the tracking parameters ${tracking.join(', ')}: each link became its own copy. Keep in the key only the parameters the origin reads.` : '';
  expect(hits / assets.length, `the edges answered ${hits} of ${assets.length} asset requests (${percent(hits / assets.length)}) from their cache; at least ${percent(MIN_ASSET_HIT_RATIO)} must be hits.${why}`).toBeGreaterThanOrEqual(MIN_ASSET_HIT_RATIO);
  const limit = (3 * MINUTE) / 30_000 + 1;
  evidence('the edges\' requests to the origin for pages during the campaign', (e) => isOriginCall()(e) && e.at >= campaign && !e.path.startsWith('/assets/'));
  for (const edge of Object.keys(EDGES)) {
    for (const path of new Set(pages)) {
      const n = origin.count(edge, path);
      expect(n, `${edge} asked the origin for ${path} ${n} times in 3 minutes of tracked links; at most ${limit} (once every 30 s).${why}`).toBeLessThanOrEqual(limit);
    }
  }
});

test('parameters that change the answer keep answers apart: q and page, in any order', async () => {
  const lab = await cdnLab();
  const region = 'ap-sydney';
  const ask = (name: string, path: string) => fetchAs(lab, reader(lab, name, region), path);
  // The searches so far and what edge-ap did with them: named only before an assertion that fails, so as to be up to it.
  const nameSearches = () => evidence('the searches so far, from the readers and from edge-ap to the origin, and the keys edge-ap stored and answered them under', (e) => ((e.type === 'answered' || e.type === 'failed') && e.path === '/search') || (isEdgeCache(e) && e.key.includes('/search')));
  const expectResults = (got: Fetched, q: string, page: number, why: string) => {
    if (!got.body.includes(`Results for ${q}, page ${page}`)) nameSearches();
    expect(got.body.includes(`Results for ${q}, page ${page}`), `a search for ${got.url} got ${/Results for [^<]*/.exec(got.body)?.[0] ?? got.body.slice(0, 60)} (x-cache: ${got.xCache}): ${why}`).toBe(true);
  };

  expectResults(await ask('ada', '/search?q=tent'), 'tent', 1, 'the first search');
  expectResults(await ask('grace', '/search?q=stove'), 'stove', 1, 'q changes the answer, so it must be part of the cache key');
  expectResults(await ask('linus', '/search?q=tent&page=2'), 'tent', 2, 'page changes the answer, so it must be part of the cache key');
  expectResults(await ask('ken', '/search?q=Tent'), 'Tent', 1, 'the origin answers q as it was typed, so Tent and tent are two searches; a key that changes the case of the URL serves one for the other');
  const tracked = await ask('alan', '/search?q=tent&utm_source=newsletter');
  expectResults(tracked, 'tent', 1, 'the same search');
  if (tracked.xCache !== 'HIT') nameSearches();
  expect(tracked.xCache, `/search?q=tent&utm_source=newsletter was a ${tracked.xCache} at edge-ap right after /search?q=tent: utm_source changes nothing, so it must not be part of the key`).toBe('HIT');
  const reordered = await ask('barbara', '/search?page=2&q=tent');
  expectResults(reordered, 'tent', 2, 'the same search');
  if (reordered.xCache !== 'HIT') nameSearches();
  expect(reordered.xCache, `/search?page=2&q=tent was a ${reordered.xCache} at edge-ap right after /search?q=tent&page=2: the same parameters in another order are the same request, so sort them in the key`).toBe('HIT');
  await lab.cluster.sleep(MINUTE / 2);
  expectResults(await ask('edsger', '/search?q=stove&fbclid=IwAR9'), 'stove', 1, 'q changes the answer, so it must be part of the cache key');
});
