import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { cacheKey } from '../starter/edge.ts';
import { CHANGE_VISIBLE_MS, EDGES, HOUR, MINUTE, ORIGIN_REGION, READER_REGIONS, cdnLab, diagnose, fetchAs, isEdgeCache, isOriginCall, isReaderCall, loadPage, ms, nearestEdge, originRequests, percentile, picker, reader, roundTrip, type PageLoad } from './helpers.ts';

const PAGES = ['/', '/products/1', '/products/2', '/products/3', '/products/4'];
/** A year, in seconds: what "cached for a year" means. */
const YEAR_S = 31_536_000;
/** Far readers' median page load must be at most this share of their round trip to the origin. */
const FAR_FACTOR = 5;
const FAR_REGION = 'ap-sydney';

test('fingerprinted assets are cached for a year and immutable: each edge fetches each one from the origin at most once in a simulated day', async () => {
  const lab = await cdnLab();
  const origin = originRequests(lab);
  const pick = picker(11);
  const loads: PageLoad[] = [];
  // Every three hours, beside each edge, a new reader (an empty browser cache) reads a page: only the edges can spare the origin.
  for (let hour = 0; hour < 24; hour += 3) {
    const start = lab.cluster.clock.now();
    for (const region of Object.values(EDGES)) loads.push(await loadPage(lab, reader(lab, `${region}-new-${hour}`, region), pick(PAGES)));
    await lab.cluster.sleep(3 * HOUR - (lab.cluster.clock.now() - start));
  }
  const broken = loads.flatMap((l) => l.assets).find((a) => a.status !== 200);
  if (broken) evidence(`the requests for ${broken.url} that did not answer 200`, (e) => (e.type === 'answered' && e.path === broken.url && e.status !== 200) || (e.type === 'failed' && e.path === broken.url));
  expect(broken, `${broken?.url} answered ${broken?.status}`).toBeUndefined();
  evidence('the edges\' requests to the origin for files under /assets/, over the simulated day', isOriginCall('/assets/'));
  const sample = (path: string) => loads.flatMap((l) => l.assets).find((a) => a.url === path && a.xCache !== null) ?? loads.flatMap((l) => l.assets).find((a) => a.url === path)!;
  for (const edge of Object.keys(EDGES)) {
    for (const [path, n] of origin.byEdge(edge)) {
      if (!path.startsWith('/assets/')) continue;
      const seen = sample(path);
      expect(n, `${edge} fetched ${path} from the origin ${n} times in a simulated day (Cache-Control: ${seen.cacheControl}); a fingerprinted file never changes under its name, so each edge should fetch it once.${diagnose(seen)} Let every cache keep it a year (max-age=${YEAR_S}).`).toBeLessThanOrEqual(1);
    }
  }
  const first = Object.values(EDGES)[0]!;
  evidence(`the files of the first page load (a new reader in ${first}), whose Cache-Control is read below`, isReaderCall([`${first}-new-0`], '/assets/'));
  for (const asset of loads[0]!.assets) {
    const cc = asset.cacheControl.toLowerCase();
    const maxAge = Number(/(?:^|[,\s])max-age=(\d+)/.exec(cc)?.[1] ?? 0);
    expect(maxAge, `${asset.url} answered Cache-Control: ${asset.cacheControl}; a fingerprinted file is cached for a year: max-age=${YEAR_S}`).toBeGreaterThanOrEqual(YEAR_S);
    expect(/\bimmutable\b/.test(cc), `${asset.url} answered Cache-Control: ${asset.cacheControl} without immutable: say that it never changes, so a browser does not ask again even when the reader reloads`).toBe(true);
  }
});

test('public pages: edges keep them briefly, far readers are served from their edge, and a change reaches new readers within 5 minutes', async () => {
  const lab = await cdnLab();
  const origin = originRequests(lab);
  const popular = ['/', '/products/1'];
  const loads: { region: string; load: PageLoad }[] = [];
  const burst = 7 * MINUTE;
  // The home page changes so that the newcomers below come 5 minutes and 5 seconds after it: a
  // lifetime and a stale window that add up to more than 5 minutes show them the old page.
  const changedAt = burst - CHANGE_VISIBLE_MS - 5000;
  let changed = false;
  // Seven busy minutes: a page load every 3 seconds, by returning readers in every region in turn.
  for (let i = 0; lab.cluster.clock.now() < burst; i++) {
    if (!changed && lab.cluster.clock.now() >= changedAt) {
      lab.site.pages.set('/', 'Winter sale: 20 % off every jacket');
      changed = true;
    }
    const region = READER_REGIONS[i % READER_REGIONS.length]!;
    const who = reader(lab, `${region}-${Math.floor(i / READER_REGIONS.length) % 4}`, region);
    const start = lab.cluster.clock.now();
    loads.push({ region, load: await loadPage(lab, who, popular[i % popular.length]!) });
    await lab.cluster.sleep(Math.max(0, 3000 - (lab.cluster.clock.now() - start)));
  }
  const failed = loads.find((l) => l.load.page.status !== 200);
  if (failed) evidence(`the requests for ${failed.load.page.url} that did not answer 200`, (e) => (e.type === 'answered' && e.path === failed.load.page.url && e.status !== 200) || (e.type === 'failed' && e.path === failed.load.page.url));
  expect(failed, `${failed?.load.page.url} answered ${failed?.load.page.status} to a reader in ${failed?.region}`).toBeUndefined();

  const limit = burst / 30_000 + 1;
  evidence(`the edges' requests to the origin for ${popular.join(' and ')} in the 7 busy minutes`, (e) => popular.some((path) => isOriginCall(path)(e)));
  for (const edge of Object.keys(EDGES)) {
    for (const path of popular) {
      const n = origin.count(edge, path);
      const seen = loads.find((l) => l.load.page.url === path)!.load.page;
      expect(n, `${edge} asked the origin for ${path} ${n} times in 7 busy minutes (Cache-Control: ${seen.cacheControl}); a public page is the same for every reader, so let the edges keep it for a while (s-maxage), at most once every 30 s from the origin.${diagnose(seen)}`).toBeLessThanOrEqual(limit);
    }
  }

  const far = loads.filter((l) => l.region === FAR_REGION).map((l) => l.load.ms);
  const rtt = roundTrip(FAR_REGION, ORIGIN_REGION);
  const p50 = percentile(far, 50);
  evidence(`the page loads of readers in ${FAR_REGION} (the HTML and its files), of which the median is taken`, (e) => (e.type === 'answered' || e.type === 'failed') && e.from.startsWith(`${FAR_REGION}-`) && e.at <= burst);
  expect(p50, `readers in ${FAR_REGION} waited a median ${ms(p50)} per page (HTML and its files), against a round trip of ${ms(rtt)} to the origin in ${ORIGIN_REGION}: their edge should answer them, in at most 1/${FAR_FACTOR} of that round trip (${ms(rtt / FAR_FACTOR)})`).toBeLessThanOrEqual(rtt / FAR_FACTOR);

  expect(lab.cluster.clock.now() - changedAt, 'the test ran its 7 minutes').toBeGreaterThanOrEqual(CHANGE_VISIBLE_MS);
  for (const region of READER_REGIONS) {
    const load = await loadPage(lab, reader(lab, `${region}-newcomer`, region), '/');
    const edge = nearestEdge(region);
    if (!load.page.body.includes('Winter sale')) evidence(`GET / by a new reader in ${region}, and ${edge}'s requests to the origin for it`, (e) => isReaderCall([`${region}-newcomer`], '/')(e) || (isOriginCall('/')(e) && e.from === edge));
    expect(load.page.body.includes('Winter sale'), `a new reader in ${region} still got the old home page ${Math.round((lab.cluster.clock.now() - changedAt) / 1000)} s after it changed on the origin (Cache-Control: ${load.page.cacheControl}); keep public pages only briefly at the edges (s-maxage, and any stale window after it), so a change shows within 5 minutes`).toBe(true);
  }

  // Search results are public pages too: the same for every reader who searches the same thing.
  const search = '/search?q=tent';
  await fetchAs(lab, reader(lab, 'first-searcher', FAR_REGION), search);
  const again = await fetchAs(lab, reader(lab, 'second-searcher', FAR_REGION), search);
  evidence(`the two searches for tent in ${FAR_REGION}, what ${nearestEdge(FAR_REGION)} answered, and its requests to the origin`, (e) => isReaderCall(['first-searcher', 'second-searcher'], '/search')(e) || (isEdgeCache(e) && e.key.includes('/search')) || isOriginCall('/search')(e));
  expect(again.xCache, `a second reader in ${FAR_REGION} opened ${search} right after a first one, and ${nearestEdge(FAR_REGION)} answered it as a ${again.xCache} from the origin (Cache-Control: ${again.cacheControl}): search results are public pages too, the same for everyone who searches the same thing; give them the public pages' shared lifetime.${diagnose(again)}`).toBe('HIT');
});

test('personal pages are never shared: every reader gets their own /account, under any path', async () => {
  const lab = await cdnLab();
  const region = 'eu-west';
  const alice = reader(lab, 'alice', region, 'alice');
  const bob = reader(lab, 'bob', region, 'bob');
  const mallory = reader(lab, 'mallory', region, 'mallory');
  expect((await fetchAs(lab, alice, '/account')).body, 'alice opened /account').toContain('Signed in as alice');
  const bobs = await fetchAs(lab, bob, '/account');
  evidence('alice\'s then bob\'s GET /account, what edge-eu answered, and its requests to the origin', (e) => isReaderCall(['alice', 'bob'], '/account')(e) || (isEdgeCache(e) && e.key.includes('/account')) || isOriginCall('/account')(e));
  expect(bobs.body.includes('Signed in as alice'), `bob opened /account and got alice's /account page from edge-eu (Cache-Control: ${bobs.cacheControl}, x-cache: ${bobs.xCache}): a personal page must never be kept by a shared cache; mark it private (or no-store)`).toBe(false);
  expect(bobs.body, 'bob opened /account').toContain('Signed in as bob');
  await lab.cluster.sleep(MINUTE);
  expect((await fetchAs(lab, alice, '/account')).body, 'alice opened /account again a minute later').toContain('Signed in as alice');

  // Web cache deception: mallory lures alice to a personal page whose path ends like a stylesheet.
  const lure = '/account/orders.css';
  expect((await fetchAs(lab, alice, lure)).body, `alice opened ${lure}, which shows her account`).toContain('Signed in as alice');
  const stolen = await fetchAs(lab, mallory, lure);
  evidence(`alice's then mallory's GET ${lure}, what edge-eu answered, and its requests to the origin`, (e) => isReaderCall(['alice', 'mallory'], lure)(e) || (isEdgeCache(e) && e.key.includes(lure)) || isOriginCall(lure)(e));
  expect(stolen.body.includes('Signed in as alice'), `mallory opened ${lure} after alice and got alice's account page from the edge (Cache-Control: ${stolen.cacheControl}): the origin shows /account under any path, so decide the headers by what the route answers, not by how the URL ends`).toBe(false);

  // Nobody saw another's page, but "never kept by a shared cache" is what the header must say: a
  // copy at the edge is one mistake (a purge, a key, a header) away from the next reader.
  const own = await fetchAs(lab, alice, '/account');
  const cc = own.cacheControl.toLowerCase();
  const edge = nearestEdge(region);
  evidence(`what ${edge} did with the GET /account of alice and bob: each copy it stored or answered`, (e) => isEdgeCache(e) && e.node === edge && new URL(e.key, 'http://www').pathname === '/account');
  const kept = lab.cluster.cache(edge).purge(cacheKey(new Request('http://www/account')));
  const why = /(^|,)\s*cookie\s*(,|$)/i.test(own.vary)
    ? `Vary: Cookie gives each reader a copy of their own, but ${edge} kept a copy of ${kept} readers' account pages, alice's included`
    : /\bno-cache\b/.test(cc)
      ? 'no-cache lets every edge store the page: it only makes the edge ask the origin before each use'
      : `it lets ${edge} keep the page`;
  expect(/\b(private|no-store)\b/.test(cc), `/account answered Cache-Control: ${own.cacheControl}${own.vary ? ` with Vary: ${own.vary}` : ''}: ${why}. A personal page must never be kept by a shared cache: mark it private (or no-store)`).toBe(true);
});
