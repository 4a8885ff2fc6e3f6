import { expect, test } from 'vitest';
import { evidence, settle } from '@scale-lab/kit';
import { deploy, rollback } from '../starter/deploy.ts';
import { cacheKey } from '../starter/edge.ts';
import { BUILDS, PURGE_MS, UPLOAD_MS, type SiteAdmin } from '../starter/site.ts';
import { CHANGE_VISIBLE_MS, EDGES, MINUTE, READER_REGIONS, cdnLab, isOriginCall, isReaderCall, loadPage, nearestEdge, originRequests, reader, type CdnLab, type PageLoad, type Reader } from './helpers.ts';

const PAGES = ['/', '/products/1', '/products/2'];
/** Readers come every 150 ms while a deploy runs, then every 30 s until its 5 minutes are up. */
const DURING_MS = 150;
const AFTER_MS = 30_000;
/** Longest a deploy or a rollback may take. */
const MAX_DEPLOY_MS = MINUTE;

interface Phase {
  /** "the deploy of v2", "the rollback". */
  name: string;
  from: string;
  to: string;
  /** True for a rollback: the release it goes back to was live before. */
  rollback?: boolean;
  run: (site: SiteAdmin) => Promise<void>;
}

/** What a file of a page is, in words: stylesheet, script or file. */
const kind = (url: string) => (url.includes('.css') ? 'stylesheet' : url.includes('.js') ? 'script' : 'file');

/** What the test has seen so far: the releases each asset URL served, and the files each edge answered as a HIT. */
interface Seen {
  lab: CdnLab;
  releasesByUrl: Map<string, Set<string>>;
  /** `${edge} ${url}`. */
  held: Set<string>;
}

/** The releases that named `url` for one of their files, or that it was seen to serve, in order. */
function sameUrl(seen: Seen, url: string): string[] {
  const named = seen.lab.site.published.filter((m) => Object.values(m.assets).includes(url)).map((m) => m.version);
  return [...new Set([...named, ...(seen.releasesByUrl.get(url) ?? [])])].sort();
}

/**
 * Fails, in the reader's terms, when a page load mixes releases or misses a file. The message names
 * the release, the file and why, not which reader met it first: that can differ by a few
 * milliseconds of background refresh between Node and a browser Worker.
 */
function checkLoad(load: PageLoad, who: Reader, phase: Phase, seen: Seen): void {
  const { releasesByUrl } = seen;
  const { region } = who;
  const page = load.page;
  // Named only before an assertion that fails: the page load just checked, and what its edge asked the origin for it.
  const since = seen.lab.cluster.clock.now() - load.ms;
  const edge = nearestEdge(region);
  const paths = [page.url, ...load.assets.map((a) => a.url)].map((url) => new URL(url, 'http://www').pathname);
  const nameLoad = () => evidence(`the ${page.release} page load by ${who.name} during ${phase.name} (the HTML and its files), and what ${edge} asked the origin for them`, (e) => (isReaderCall([who.name])(e) && e.at >= since) || (isOriginCall()(e) && e.from === edge && e.at >= since && paths.includes(e.path)));
  if (page.status !== 200) nameLoad();
  expect(page.status, `${page.url} answered ${page.status} to a reader during ${phase.name}`).toBe(200);
  for (const asset of load.assets) {
    if (asset.release) releasesByUrl.set(asset.url, new Set([...(releasesByUrl.get(asset.url) ?? []), asset.release]));
    if (asset.xCache === 'HIT') seen.held.add(`${nearestEdge(region)} ${asset.url}`);
    if (asset.status !== 200) {
      nameLoad();
      const why = page.release === phase.to && phase.to !== phase.from && !phase.rollback
        ? 'the new HTML went live before its files were uploaded: upload every file first, and only then publish (or purge) the HTML'
        : `the files of release ${page.release} are gone, yet readers still hold its HTML and a rollback publishes it again: keep the previous releases' files`;
      expect(asset.status, `during ${phase.name}, a reader got the ${page.release} page, whose ${kind(asset.url)} ${asset.url} answered ${asset.status}: ${why}`).toBe(200);
    }
    if (asset.release && asset.release !== page.release) {
      nameLoad();
      const url = new URL(asset.url, 'http://www');
      const why = url.search
        ? `the version is only in the query string (${url.search}), which the edges' cache key drops, and the file's name stays the same, so caches answer with the copy they hold: put the hash in the file's name`
        : sameUrl(seen, asset.url).length > 1
          ? `${asset.url} held ${sameUrl(seen, asset.url).join(' and then ')} under the same URL; a browser that keeps it for a year never asks again, and no purge reaches it: give each release's files names of their own (fingerprint them)`
          : 'each page must come with the files of its own release';
      expect(asset.release, `during ${phase.name}, a reader got the ${page.release} page with the ${asset.release} ${kind(asset.url)} ${asset.url}: ${why}`).toBe(page.release);
    }
  }
}

/** Once a phase's 5 minutes are up: every returning reader, and a new one beside each edge, gets its release. */
async function sweep(lab: CdnLab, phase: Phase, seen: Seen): Promise<void> {
  for (const region of READER_REGIONS) {
    const readers = [reader(lab, `${region}-0`, region)];
    if (Object.values(EDGES).includes(region)) readers.push(reader(lab, `${region}-sweep-${phase.to}`, region));
    for (const who of readers) {
      const since = lab.cluster.clock.now();
      const load = await loadPage(lab, who, '/');
      checkLoad(load, who, phase, seen);
      if (load.page.release !== phase.to) evidence(`${who.name}'s GET / 5 minutes after ${phase.name} ended, and ${nearestEdge(region)}'s requests to the origin for it`, (e) => (isReaderCall([who.name], '/')(e) && e.at >= since) || (isOriginCall('/')(e) && e.from === nearestEdge(region)));
      expect(load.page.release, `5 minutes after ${phase.name} ended, a reader in ${region} still got the ${load.page.release} page instead of ${phase.to} (Cache-Control: ${load.page.cacheControl})`).toBe(phase.to);
    }
  }
}

/**
 * The deploy's own clock: its uploads and purges take their time in steps the test takes between
 * two page loads, so that what readers see while a deploy runs is the same on every host.
 */
function deployClock() {
  let now = 0;
  const waiting: { at: number; resolve: () => void }[] = [];
  return {
    wait: (ms: number) => new Promise<void>((resolve) => waiting.push({ at: now + ms, resolve })),
    async advance(ms: number): Promise<void> {
      now += ms;
      for (const w of waiting.filter((w) => w.at <= now)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
      // Let the deploy run on to its next upload or purge (promises only: it has no timers of its own).
      for (let i = 0; i < 3; i++) await settle();
    },
  };
}

/** What deploy.ts gets in these tests: the cluster's SiteAdmin, on the deploy's own clock. */
function steppedAdmin(lab: CdnLab, clock: ReturnType<typeof deployClock>): SiteAdmin {
  const purge = async (key: string | undefined) => {
    await clock.wait(PURGE_MS);
    for (const edge of Object.keys(EDGES)) lab.cluster.cache(edge).purge(key);
  };
  return {
    ...lab.admin,
    upload: async (path, content) => {
      await clock.wait(UPLOAD_MS);
      lab.site.files.set(path, content);
    },
    purge: (path) => purge(cacheKey(new Request(`http://www${path}`))),
    purgeAll: () => purge(undefined),
  };
}

/**
 * Runs `phase` while readers in every region keep reading (every 150 ms while it runs, every 30 s
 * for 5 minutes after), checking every page load; then checks that every reader gets the new release.
 */
async function rollout(lab: CdnLab, phase: Phase, seen: Seen): Promise<void> {
  const { cluster } = lab;
  let ended: number | undefined;
  let failure: unknown;
  const clock = deployClock();
  const work = phase.run(steppedAdmin(lab, clock)).then(
    () => void (ended = cluster.clock.now()),
    (err) => void ((failure = err), (ended = cluster.clock.now())),
  );
  await clock.advance(0);
  const started = cluster.clock.now();
  for (let i = 0; ended === undefined || cluster.clock.now() < ended + CHANGE_VISIBLE_MS; i++) {
    if (failure || (ended === undefined && cluster.clock.now() > started + MAX_DEPLOY_MS)) break;
    const start = cluster.clock.now();
    const region = READER_REGIONS[i % READER_REGIONS.length]!;
    const name = i % 3 === 2 ? `${region}-new-${phase.to}-${i}` : `${region}-${i % 3}`;
    const who = reader(lab, name, region);
    checkLoad(await loadPage(lab, who, PAGES[i % PAGES.length]!), who, phase, seen);
    const pause = Math.max(0, (ended === undefined ? DURING_MS : AFTER_MS) - (cluster.clock.now() - start));
    await cluster.sleep(pause);
    if (ended === undefined) await clock.advance(cluster.clock.now() - start);
  }
  if (ended !== undefined) await work;
  expect(ended, `${phase.name} had not finished after ${MAX_DEPLOY_MS / 1000} s: its uploads take a few seconds; does it wait for something that never comes?`).toBeDefined();
  expect(failure, `${phase.name} threw: ${failure instanceof Error ? failure.message : String(failure)}`).toBeUndefined();
  await sweep(lab, phase, seen);
}

test('a release, another, then a rollback: no reader ever gets a page with files of another release, and each reaches every reader within 5 minutes', async () => {
  const lab = await cdnLab();
  const seen: Seen = { lab, releasesByUrl: new Map(), held: new Set() };
  const steady: Phase = { name: 'an ordinary day', from: 'v1', to: 'v1', run: async () => {} };
  for (const region of READER_REGIONS) {
    const who = reader(lab, `${region}-0`, region);
    checkLoad(await loadPage(lab, who, '/'), who, steady, seen);
  }

  const origin = originRequests(lab);
  const refetched: { edge: string; path: string; n: number; release: string }[] = [];
  for (const [from, to] of [['v1', 'v2'], ['v2', 'v3']] as const) {
    const heldBefore = new Set(seen.held);
    origin.reset();
    await rollout(lab, { name: `the deploy of ${to}`, from, to, run: (site) => deploy(BUILDS[to]!, site) }, seen);
    // A deploy costs the origin the new files; a file an edge held stays cached.
    for (const edge of Object.keys(EDGES)) {
      for (const [path, n] of origin.byEdge(edge)) {
        if (heldBefore.has(`${edge} ${path}`)) refetched.push({ edge, path, n, release: to });
      }
    }
  }

  // A file whose content did not change keeps its URL: a new name for the same bytes (a release
  // number in the path) sends every edge and every browser back to the origin for a file it holds.
  const releases = lab.site.published;
  for (let i = 1; i < releases.length; i++) {
    const [before, after] = [releases[i - 1]!, releases[i]!];
    const same = Object.keys(after.assets).find((name) => BUILDS[before.version]?.files[name] === BUILDS[after.version]?.files[name] && before.assets[name] !== undefined && before.assets[name] !== after.assets[name]);
    expect(same, `${same} did not change from ${before.version} to ${after.version}, yet ${after.version} names it ${after.assets[same!]} where ${before.version} named it ${before.assets[same!]}: every edge and every browser fetches the same bytes again under the new name. Name each file by a hash of its content (fingerprint), not by the release`).toBeUndefined();
  }

  // The edges lose everything (a restart, an eviction), and the team rolls back to v2.
  for (const edge of Object.keys(EDGES)) lab.cluster.cache(edge).purge();
  await lab.cluster.sleep(MINUTE);
  await rollout(lab, { name: 'the rollback from v3 to v2', from: 'v3', to: 'v2', rollback: true, run: (site) => rollback(site) }, seen);

  const again = refetched[0];
  if (again) evidence(`${again.edge}'s requests to the origin for ${again.path}, a file it held before the deploy of ${again.release}`, (e) => isOriginCall(again.path)(e) && e.from === again.edge);
  expect(again, `${again?.edge} fetched ${again?.path} from the origin ${again?.n} times during the deploy of ${again?.release}, though it held that file before: the deploy emptied the edges' caches, and purging everything sends every reader's next request to the origin; purge only what changed, or nothing`).toBeUndefined();
});

test('a rollback right after the first deploy goes back to the release before it', async () => {
  const lab = await cdnLab();
  const clock = deployClock();
  const admin = steppedAdmin(lab, clock);
  let finished = false;
  let failure: unknown;
  void (async () => {
    await deploy(BUILDS.v2!, admin);
    await rollback(admin);
  })().then(
    () => void (finished = true),
    (err) => void ((failure = err), (finished = true)),
  );
  // No readers here: the uploads only need their time to pass.
  for (let waited = 0; !finished && waited < MAX_DEPLOY_MS; waited += UPLOAD_MS) await clock.advance(UPLOAD_MS);
  expect(failure, `the deploy of v2 then its rollback threw: ${failure instanceof Error ? failure.message : String(failure)}`).toBeUndefined();
  expect(finished, `the deploy of v2 then its rollback had not finished after ${MAX_DEPLOY_MS / 1000} s`).toBe(true);
  const live = lab.site.live();
  expect(live.version, `v1 was live, v2 was deployed, then rolled back, and ${live.version} is live, not v1: a rollback goes back to the release that was live before the current one, whichever it is (site.history().at(-2)), not one picked by its place in the history`).toBe('v1');
  expect(live.assets, 'the rollback to v1 published v1 with other files than v1 had').toEqual(lab.site.published[0]!.assets);
});
