/**
 * Lighthouse on the built site, for `npm run bench` (or alone: `node scripts/bench-lighthouse.ts`
 * after `npm run build`): every chapter, the Team page and the Progress page, with Lighthouse's
 * default mobile settings (a mid-range phone on a slow 4G link, simulated), one page after another in
 * one headless Chromium. Prints the four category scores, the layout shift (CLS) and the largest
 * contentful paint (LCP) per page. The site is served by the static server of the bench and the e2e
 * tests with the `_headers` file applied (so pages are cross-origin isolated) and gzip, as a host
 * serves them: Lighthouse estimates load times from the bytes sent, and a chapter's HTML is 400–550 KB
 * uncompressed but 60–80 KB gzipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lighthouse from 'lighthouse';
import { ROOT } from '../tests/support/page-weight.ts';
import { serveStatic } from '../tests/support/static-server.ts';

export const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'] as const;

export interface LighthouseScores {
  /** The page's path under the site, e.g. "chapters/01-clones/". */
  page: string;
  /** Category id → score out of 100. */
  scores: Record<(typeof CATEGORIES)[number], number>;
  /** Cumulative layout shift. */
  cls: number;
  /** Largest contentful paint, ms (simulated mobile). */
  lcp: number;
  /** In a category below 100, the audits that cost it points, as "category: audit title (value)". */
  failing: string[];
  /** The Lighthouse version that measured. */
  version: string;
}

/** The pages measured: every chapter of the built site, then the Team and Progress pages. */
export function lighthousePages(dist = join(ROOT, 'dist')): string[] {
  const chapters = readdirSync(join(dist, 'chapters'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dist, 'chapters', d.name, 'index.html')))
    .map((d) => `chapters/${d.name}/`)
    .sort();
  return [...chapters, 'team/', 'progress/'];
}

/** Starts Debian's Chromium (or CHROMIUM_PATH) headless with a DevTools port, as Lighthouse needs one. */
async function startChromium(): Promise<{ port: number; stop(): Promise<void> }> {
  const path = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (!path) throw new Error('Lighthouse needs Chromium: install Debian\'s chromium or set CHROMIUM_PATH');
  const profile = mkdtempSync(join(tmpdir(), 'scale-lab-lighthouse-'));
  const chrome: ChildProcess = spawn(
    path,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-extensions',
      '--no-first-run',
      '--mute-audio',
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stop = async () => {
    if (chrome.exitCode === null) {
      const exited = new Promise((resolve) => chrome.once('exit', resolve));
      chrome.kill();
      await exited;
    }
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`Chromium gave no DevTools port in 30 s:\n${err}`)), 30_000);
      chrome.stderr!.on('data', (chunk: Buffer) => {
        err += chunk;
        const match = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(err);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      chrome.once('exit', (code) => reject(new Error(`Chromium exited (${code}) before it listened:\n${err}`)));
    });
    chrome.stderr!.resume();
    return { port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Audits weighing nothing in any score, left out to save time: the back/forward cache check loads
 * the page a second time, and the filmstrip and final screenshots only feed the HTML report.
 */
const UNSCORED = ['bf-cache', 'screenshot-thumbnails', 'final-screenshot'];

/** Serves the built site in `dist` and runs Lighthouse on each page, one after another in one Chromium. */
export async function benchLighthouse(dist = join(ROOT, 'dist'), pages = lighthousePages(dist), onPage?: (result: LighthouseScores) => void): Promise<LighthouseScores[]> {
  if (!existsSync(join(dist, 'index.html'))) throw new Error('No built site: run `npm run build` first');
  const site = await serveStatic(dist, { applyHeadersFile: true, gzip: true });
  const chrome = await startChromium();
  const results: LighthouseScores[] = [];
  try {
    for (const page of pages) {
      const measure = async () => {
        const run = await lighthouse(
          `${site.url}${page}`,
          { port: chrome.port, output: 'json', logLevel: 'error' },
          // Mobile is Lighthouse's default form factor and throttling; the full-page screenshot only feeds the HTML report.
          { extends: 'lighthouse:default', settings: { onlyCategories: [...CATEGORIES], skipAudits: UNSCORED, disableFullPageScreenshot: true } },
        );
        if (!run) throw new Error(`Lighthouse returned nothing for ${page}`);
        return run.lhr;
      };
      // A trace Lighthouse cannot read (seen once here as NO_NAVSTART, on the first page) asks for another run.
      let lhr = await measure();
      if (lhr.runtimeError) lhr = await measure();
      if (lhr.runtimeError) throw new Error(`Lighthouse could not measure ${page}: ${lhr.runtimeError.message}`);
      const failing: string[] = [];
      for (const id of CATEGORIES) {
        if (lhr.categories[id]!.score === 1) continue;
        for (const ref of lhr.categories[id]!.auditRefs) {
          const audit = lhr.audits[ref.id]!;
          if (ref.weight > 0 && audit.score !== null && audit.score < 1) failing.push(`${id}: ${audit.title}${audit.displayValue ? ` (${audit.displayValue})` : ''}`);
        }
      }
      const result: LighthouseScores = {
        page,
        scores: Object.fromEntries(CATEGORIES.map((id) => [id, Math.round((lhr.categories[id]!.score ?? 0) * 100)])) as LighthouseScores['scores'],
        cls: lhr.audits['cumulative-layout-shift']!.numericValue ?? NaN,
        lcp: lhr.audits['largest-contentful-paint']!.numericValue ?? NaN,
        failing,
        version: lhr.lighthouseVersion,
      };
      results.push(result);
      onPage?.(result);
    }
  } finally {
    await chrome.stop();
    await site.close();
  }
  return results;
}

/** One line of the table: page, the four scores, CLS and LCP. */
export const lighthouseLine = (r: LighthouseScores): string =>
  `${CATEGORIES.map((id) => r.scores[id]).join(' / ')}, CLS ${r.cls.toFixed(3)}, LCP ${(r.lcp / 1000).toFixed(1)} s`;

if (import.meta.main) {
  const started = performance.now();
  const results = await benchLighthouse(undefined, undefined, (r) => console.log(`  ${r.page}: ${lighthouseLine(r)}`));
  console.log(`\nLighthouse ${results[0]?.version} (mobile), ${results.length} pages in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  console.log('| page | performance | accessibility | best practices | SEO | CLS | LCP |\n|---|---|---|---|---|---|---|');
  for (const r of results) console.log(`| ${r.page} | ${CATEGORIES.map((id) => r.scores[id]).join(' | ')} | ${r.cls.toFixed(3)} | ${(r.lcp / 1000).toFixed(1)} s |`);
  for (const r of results.filter((x) => x.failing.length)) console.log(`\n${r.page} loses points on:\n${r.failing.map((f) => `  - ${f}`).join('\n')}`);
}
