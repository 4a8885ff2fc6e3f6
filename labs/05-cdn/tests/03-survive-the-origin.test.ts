import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { CHANGE_VISIBLE_MS, EDGES, HOUR, MINUTE, READER_REGIONS, cdnLab, isOriginCall, isReaderCall, loadPage, ms, nearestEdge, reader, type CdnLab, type PageLoad } from './helpers.ts';

/** Names, for a replay, one reader's load of `path` since `since` and what its edge asked the origin for it. */
function nameLoad(label: string, who: string, edge: string, path: string, since: number): void {
  evidence(label, (e) => (isReaderCall([who], path)(e) && e.at >= since) || (isOriginCall(path)(e) && e.from === edge));
}

const PAGES = ['/', '/products/1'];
/** A search, read during the outage with the pages. */
const SEARCH = '/search?q=tent';
const OUTAGE_PAGES = [...PAGES, SEARCH];
/** A page read only just before it changes, then 5 minutes later: no reader's request refreshes its copies. */
const QUIET = '/products/4';
/** How slow the origin renders a page in the first test. */
const SLOW_MS = 2000;

/** The Cache-Control of the public pages, as the origin sends it now. */
async function pageHeader(lab: CdnLab, path = '/'): Promise<string> {
  const res = await lab.cluster.fetch(`http://origin${path}`);
  return res.headers.get('cache-control') ?? '(none)';
}

/** A reader beside each edge reads every page once: the edges hold them all. */
async function fill(lab: CdnLab): Promise<void> {
  for (const region of Object.values(EDGES)) for (const path of PAGES) await loadPage(lab, reader(lab, `${region}-0`, region), path);
}

test('a slow origin: once an edge has a page, no reader waits for the origin, and a change still reaches returning readers within 5 minutes', async () => {
  const lab = await cdnLab();
  await fill(lab);
  lab.cluster.slow('origin', SLOW_MS);
  const header = await pageHeader(lab);
  const changeAt = lab.cluster.clock.now() + MINUTE;
  const busyUntil = changeAt + 2 * MINUTE;
  let loyalRead = false;
  let quietRead = false;
  let changedAt: number | undefined;
  // Three busy minutes: returning readers in every region in turn, a page every 2 seconds, so each
  // edge is asked for each page every 20 s or so (a stale window serves pages in demand). Just
  // before the home page changes, each region's loyal reader reads it; they come back 5 minutes and
  // 5 seconds after the change, when neither a browser nor an edge may still show the old page.
  for (let i = 0; lab.cluster.clock.now() < busyUntil; i++) {
    const now = lab.cluster.clock.now();
    if (!quietRead && now >= changeAt - 10_000) {
      // Beside each edge, a reader opens a page nobody else reads: its copy at the edge, fetched
      // just before the change, is refreshed by no one and lasts its lifetime and stale window.
      for (const region of Object.values(EDGES)) await loadPage(lab, reader(lab, `${region}-quiet`, region), QUIET);
      quietRead = true;
    }
    if (!loyalRead && now >= changeAt - 30_000) {
      for (const region of READER_REGIONS) await loadPage(lab, reader(lab, `${region}-loyal`, region), '/');
      loyalRead = true;
    }
    if (changedAt === undefined && now >= changeAt) {
      lab.site.pages.set('/', 'Winter sale: 20 % off every jacket');
      lab.site.pages.set(QUIET, 'Waterproof Hiking Jacket: 20 % off in the winter sale');
      changedAt = now;
    }
    const region = READER_REGIONS[i % READER_REGIONS.length]!;
    const path = PAGES[(i + Math.floor(i / READER_REGIONS.length)) % PAGES.length]!;
    const load: PageLoad = await loadPage(lab, reader(lab, `${region}-0`, region), path);
    expect(load.page.status, `${path} answered ${load.page.status} to a reader in ${region}`).toBe(200);
    const minute = Math.floor((now - changeAt) / MINUTE + 1);
    // Waiting for the origin is an edge answer that went there first: MISS, or REVALIDATED.
    const waited = load.page.xCache === 'MISS' || load.page.xCache === 'REVALIDATED';
    if (load.page.status !== 200 || waited) nameLoad(`GET ${path} by a reader in ${region} at minute ${minute}, and ${nearestEdge(region)}'s requests to the slow origin for it`, `${region}-0`, nearestEdge(region), path, now);
    expect(waited, `a reader in ${region} waited ${ms(load.ms)} for ${path} (minute ${minute} of the slow origin, x-cache: ${load.page.xCache}), although ${nearestEdge(region)} had served it before: its copy had expired, so the edge made the reader wait while it fetched a new one from an origin that takes ${ms(SLOW_MS)} (Cache-Control: ${header}). Let the edge answer with its stale copy while it refreshes it in the background (stale-while-revalidate).`).toBe(false);
    await lab.cluster.sleep(Math.max(0, 2000 - (lab.cluster.clock.now() - now)));
  }
  const back = (changedAt ?? changeAt) + CHANGE_VISIBLE_MS + 5000;
  await lab.cluster.sleep(back - lab.cluster.clock.now());
  const seconds = (name: string) => Number(new RegExp(`(?:^|[,\\s])${name}=(\\d+)`).exec(header)?.[1] ?? 0);
  const longest = [['max-age', 'keep the page that long without asking'], ['stale-while-revalidate', 'show its old copy that long while it refreshes in the background']].find(([name]) => seconds(name!) > CHANGE_VISIBLE_MS / 1000);
  const because = longest ? ` ${longest[0]}=${seconds(longest[0]!)} lets a browser ${longest[1]}.` : '';
  for (const region of READER_REGIONS) {
    const since = lab.cluster.clock.now();
    const load = await loadPage(lab, reader(lab, `${region}-loyal`, region), '/');
    if (!load.page.body.includes('Winter sale')) nameLoad(`GET / by the loyal reader in ${region} after the change (answered by their browser's cache or ${nearestEdge(region)}), and ${nearestEdge(region)}'s requests to the origin for it`, `${region}-loyal`, nearestEdge(region), '/', since);
    expect(load.page.body.includes('Winter sale'), `the loyal reader in ${region}, who had read the home page just before it changed, still saw the old page ${Math.round((lab.cluster.clock.now() - (changedAt ?? changeAt)) / 1000)} s after the change (Cache-Control: ${header}): a copy kept or served stale for that long hides every change, a deploy's too.${because} Keep each lifetime and each stale window to a few minutes.`).toBe(true);
  }
  for (const region of Object.values(EDGES)) {
    const since = lab.cluster.clock.now();
    const load = await loadPage(lab, reader(lab, `${region}-newcomer`, region), QUIET);
    if (!load.page.body.includes('winter sale')) nameLoad(`GET ${QUIET} by a new reader in ${region}, and ${nearestEdge(region)}'s requests to the origin for it`, `${region}-newcomer`, nearestEdge(region), QUIET, since);
    expect(load.page.body.includes('winter sale'), `a new reader in ${region} got the old ${QUIET} page ${Math.round((lab.cluster.clock.now() - (changedAt ?? changeAt)) / 1000)} s after it changed (Cache-Control: ${header}): nobody had asked ${nearestEdge(region)} for it since just before the change, so it kept its copy for s-maxage and then served it stale for stale-while-revalidate; together they must stay under 5 minutes.${because}`).toBe(true);
  }
});

test('the origin goes down for two hours (refusing, then answering 503): every page still answers 200 from the edges', async () => {
  const lab = await cdnLab();
  await fill(lab);
  // Search results are public pages too: readers search during the outage as well.
  for (const region of Object.values(EDGES)) await loadPage(lab, reader(lab, `${region}-0`, region), SEARCH);
  const headers = new Map<string, string>();
  for (const path of OUTAGE_PAGES) headers.set(path, await pageHeader(lab, path));
  const whyFor = (path: string) => {
    const header = headers.get(path)!;
    const sie = Number(/stale-if-error=(\d+)/.exec(header)?.[1] ?? 0);
    if (path === SEARCH && sie === 0) return `the search results came with Cache-Control: ${header}, without the stale-if-error the other pages have: search results are public pages too, and need the same directives`;
    return sie === 0
      ? 'nothing in its Cache-Control lets an edge serve a stale copy when the origin fails (stale-if-error)'
      : `stale-if-error=${sie} lets an edge serve a stale copy only ${Math.round(sie / 60)} minutes past its lifetime, and the outage lasts two hours`;
  };
  const start = lab.cluster.clock.now();
  let failing = false;
  lab.cluster.kill('origin');
  // A reader every three minutes, new and returning in turn, in every region in turn.
  for (let i = 0; lab.cluster.clock.now() < start + 2 * HOUR; i++) {
    const now = lab.cluster.clock.now();
    if (!failing && now >= start + HOUR) {
      lab.cluster.revive('origin');
      lab.cluster.fail('origin', 503);
      failing = true;
    }
    const region = READER_REGIONS[i % READER_REGIONS.length]!;
    const path = OUTAGE_PAGES[Math.floor(i / READER_REGIONS.length) % OUTAGE_PAGES.length]!;
    const who = reader(lab, i % 2 === 0 ? `${region}-0` : `${region}-new-${i}`, region);
    const load = await loadPage(lab, who, path);
    const state = failing ? 'answering 503' : 'down';
    const broken = load.assets.find((a) => a.status !== 200);
    if (load.page.status !== 200 || broken) {
      evidence(`the page load of ${path} by ${who.name}, ${Math.round((now - start) / MINUTE)} minutes into the outage, and ${nearestEdge(region)}'s failed requests to the origin`, (e) => (isReaderCall([who.name])(e) && e.at >= now) || (isOriginCall()(e) && e.from === nearestEdge(region) && e.at >= start && (e.type === 'failed' || e.status >= 500)));
    }
    expect(load.page.status, `${path} answered ${load.page.status} to a reader in ${region}, ${Math.round((now - start) / MINUTE)} minutes into the outage (origin ${state}), although ${nearestEdge(region)} holds a copy: ${whyFor(path)}`).toBe(200);
    expect(broken, `${broken?.url} answered ${broken?.status} during the outage`).toBeUndefined();
    await lab.cluster.sleep(Math.max(0, 3 * MINUTE - (lab.cluster.clock.now() - now)));
  }
  lab.cluster.recover('origin');
});
