/**
 * npm run smoke:webcontainer -- [--url URL] [--chapter PATH] [--port N] [--headed] [--runtime worker]
 *
 * The WebContainer runtime for real, in Chromium, on a machine that can reach StackBlitz (it cannot
 * pass offline: WebContainer's runtime is served by StackBlitz). Builds nothing: it serves the built
 * site in dist/ with `astro preview` (or uses --url), opens a chapter with a lab with
 * `?runtime=webcontainer`, and checks, in order:
 *   1. the lab opens on WebContainer (data-runtime="webcontainer"), not on the Worker fallback;
 *   2. running the starter fails every step;
 *   3. after revealing and applying the solution, running again passes every step;
 *   4. where the lab offers a cluster preview, it starts and its frame loads.
 * Exits 0 when all pass; otherwise 1, with what failed and what the page showed.
 * `--runtime worker` runs the same checks on the Worker runtime: it checks this script offline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './lab-runner/catalog.ts';

const SELECTORS = {
  lab: '[data-testid="lab"]',
  open: '[data-testid="lab-open"]',
  anyRuntime: '[data-testid="lab"][data-runtime]',
  notice: '[data-testid="lab-runtime-notice"]',
  error: '[data-testid="lab-error"]',
  run: '[data-testid="lab-run"]',
  step: '[data-testid="lab-step"]',
  reveal: '[data-testid="lab-reveal"]',
  applySolution: '[data-testid="lab-apply-solution"]',
  /** The cluster preview, when the Lab UI has one. */
  clusterStart: '[data-testid="lab-cluster-start"]',
  clusterPreview: '[data-testid="lab-cluster-preview"]',
};

/** Booting WebContainer and mounting a lab: a cold boot downloads StackBlitz's runtime. */
const OPEN_TIMEOUT_MS = 90_000;
const RUN_TIMEOUT_MS = 180_000;

const USAGE = `Usage: npm run smoke:webcontainer -- [--url URL] [--chapter PATH] [--port N] [--headed]
  --url URL       test a site already being served at URL (default: start astro preview on dist/)
  --chapter PATH  the chapter page, e.g. chapters/01-clones/ (default: the first page with a lab)
  --port N        port for astro preview (default 4329)
  --headed        show the browser
  --runtime R     webcontainer (default), or worker to check this script where StackBlitz is unreachable`;

const { values } = (() => {
  try {
    return parseArgs({ options: { url: { type: 'string' }, chapter: { type: 'string' }, port: { type: 'string' }, headed: { type: 'boolean' }, runtime: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
})();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const runtime = values.runtime ?? 'webcontainer';
if (runtime !== 'webcontainer' && runtime !== 'worker') {
  process.stderr.write(`--runtime takes webcontainer or worker, got ${runtime}.\n\n${USAGE}\n`);
  process.exit(2);
}
const runtimeLabel = runtime === 'webcontainer' ? 'WebContainer' : 'the Worker';

class SmokeFailure extends Error {}

const checked: string[] = [];
function pass(what: string): void {
  checked.push(what);
  process.stdout.write(`  ✓ ${what}\n`);
}

/** The built pages that hold a lab, as paths under the site's base (e.g. "chapters/01-clones/"). */
function pagesWithLab(dist: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry === 'index.html' && readFileSync(full, 'utf8').includes('data-testid="lab"')) found.push(relative(dist, dir).split(sep).join('/'));
    }
  };
  walk(dist);
  return found.map((p) => (p ? `${p}/` : ''));
}

async function waitForHttp(url: string, timeoutMs: number, preview: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (preview.exitCode !== null) {
      const said = log().trim().split('\n').slice(-8).map((l) => `  ${l}`).join('\n');
      throw new SmokeFailure(`astro preview exited with code ${preview.exitCode} before serving ${url} (only one preview may run per project: pass --url to use one already running).${said ? `\nIt said:\n${said}` : ''}`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new SmokeFailure(`astro preview did not answer at ${url} within ${timeoutMs / 1000} s.`);
}

async function startPreview(port: number, base: string): Promise<{ url: string; child: ChildProcess; log: () => string }> {
  if (!existsSync(join(ROOT, 'dist', 'index.html'))) throw new SmokeFailure('No built site in dist/: run `npm run build` first (this script builds nothing).');
  const astro = join(ROOT, 'node_modules', 'astro', 'bin', 'astro.mjs');
  let log = '';
  const child = spawn(process.execPath, [astro, 'preview', '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  // localhost, not 127.0.0.1: WebContainer boots without an API key only on localhost.
  const url = `http://localhost:${port}${base}`;
  await waitForHttp(url, 30_000, child, () => log);
  return { url, child, log: () => log };
}

async function stepStatuses(page: Page): Promise<Record<string, string>> {
  return page.$$eval(SELECTORS.step, (items) => Object.fromEntries(items.map((li) => [(li as HTMLElement).dataset.step ?? '?', (li as HTMLElement).dataset.status ?? '?'])));
}

/** Clicks Run and waits until no step is running any more; returns each step's status. */
async function runAll(page: Page): Promise<Record<string, string>> {
  await page.click(SELECTORS.run);
  await page.waitForFunction(
    (selector) => {
      const steps = [...document.querySelectorAll<HTMLElement>(selector)];
      return steps.length > 0 && steps.every((s) => s.dataset.status === 'passed' || s.dataset.status === 'failed');
    },
    SELECTORS.step,
    { timeout: RUN_TIMEOUT_MS, polling: 250 },
  ).catch(async () => {
    throw new SmokeFailure(`The run did not finish within ${RUN_TIMEOUT_MS / 1000} s. Steps: ${JSON.stringify(await stepStatuses(page))}`);
  });
  const error = page.locator(SELECTORS.error);
  if (await error.isVisible()) throw new SmokeFailure(`The lab showed an error: ${(await error.textContent())?.trim()}`);
  return stepStatuses(page);
}

async function smoke(page: Page, chapterUrl: string): Promise<void> {
  await page.goto(chapterUrl, { waitUntil: 'load' });
  const isolated = await page.evaluate(() => globalThis.crossOriginIsolated === true);
  if (!isolated) throw new SmokeFailure(`${chapterUrl} is not cross-origin isolated: the server must send COOP same-origin and COEP require-corp (or credentialless).`);
  pass('the chapter page is cross-origin isolated');

  await page.locator(SELECTORS.lab).first().scrollIntoViewIfNeeded();
  await page.click(SELECTORS.open);
  await page.waitForSelector(SELECTORS.anyRuntime, { timeout: OPEN_TIMEOUT_MS }).catch(() => {
    throw new SmokeFailure(`The lab did not open within ${OPEN_TIMEOUT_MS / 1000} s.`);
  });
  const opened = await page.locator(SELECTORS.anyRuntime).first().getAttribute('data-runtime');
  if (opened !== runtime) {
    const notice = (await page.locator(SELECTORS.notice).first().textContent({ timeout: 1000 }).catch(() => null))?.trim();
    throw new SmokeFailure(`The lab opened on the ${opened} runtime, not ${runtimeLabel}.${notice ? ` It said: "${notice}"` : ''}`);
  }
  pass(`the lab opened on ${runtimeLabel} (data-runtime="${runtime}")`);

  const starter = await runAll(page);
  const notFailed = Object.entries(starter).filter(([, s]) => s !== 'failed');
  if (notFailed.length) throw new SmokeFailure(`The starter should fail every step; these did not: ${notFailed.map(([id, s]) => `${id} (${s})`).join(', ')}`);
  pass(`the starter fails every step (${Object.keys(starter).length} steps)`);

  await page.click(SELECTORS.reveal);
  await page.click(SELECTORS.applySolution, { timeout: 30_000 });
  pass('the solution was revealed and applied');

  const solution = await runAll(page);
  const notPassed = Object.entries(solution).filter(([, s]) => s !== 'passed');
  if (notPassed.length) throw new SmokeFailure(`The solution should pass every step; these did not: ${notPassed.map(([id, s]) => `${id} (${s})`).join(', ')}`);
  pass(`the solution passes every step (${Object.keys(solution).length} steps)`);

  const start = page.locator(SELECTORS.clusterStart);
  if (!(await start.count())) {
    process.stdout.write(`  - no cluster preview in this lab's UI (${SELECTORS.clusterStart}): skipped\n`);
    return;
  }
  await start.first().click();
  const frame = page.locator(SELECTORS.clusterPreview).first();
  await frame.waitFor({ timeout: OPEN_TIMEOUT_MS }).catch(() => {
    throw new SmokeFailure(`The cluster preview did not appear within ${OPEN_TIMEOUT_MS / 1000} s.`);
  });
  const src = await page.waitForFunction((selector) => document.querySelector<HTMLIFrameElement>(selector)?.src || false, SELECTORS.clusterPreview, { timeout: OPEN_TIMEOUT_MS });
  const previewUrl = String(await src.jsonValue());
  const handle = await frame.elementHandle();
  const content = await handle?.contentFrame();
  if (!content) throw new SmokeFailure(`The cluster preview frame (${previewUrl}) has no document.`);
  await content.waitForLoadState('load', { timeout: OPEN_TIMEOUT_MS });
  const body = (await content.locator('body').textContent({ timeout: 30_000 }).catch(() => ''))?.trim() ?? '';
  if (!body) throw new SmokeFailure(`The cluster preview frame (${previewUrl}) loaded an empty page.`);
  pass(`the cluster preview serves the entry node at ${previewUrl} ("${body.slice(0, 60)}")`);
}

let preview: Awaited<ReturnType<typeof startPreview>> | undefined;
let browser: Browser | undefined;
const consoleLines: string[] = [];
let exitCode = 0;
try {
  const base = process.env.SCALE_LAB_BASE ?? '/';
  const normalizedBase = base.endsWith('/') ? base : `${base}/`;
  let siteUrl: string;
  if (values.url) {
    siteUrl = values.url.endsWith('/') ? values.url : `${values.url}/`;
  } else {
    preview = await startPreview(Number(values.port ?? 4329), normalizedBase);
    siteUrl = preview.url;
  }
  let chapter = values.chapter?.replace(/^\/+/, '');
  if (chapter === undefined) {
    const dist = join(ROOT, 'dist');
    const pages = existsSync(dist) ? pagesWithLab(dist) : [];
    if (!pages.length) throw new SmokeFailure('No page with a lab ([data-testid="lab"]) in dist/: pass --chapter.');
    chapter = pages[0]!;
  }
  const chapterUrl = new URL(`${chapter}?runtime=${runtime}`, siteUrl).href;
  process.stdout.write(`smoke:webcontainer: ${chapterUrl}\n`);

  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const executablePath = candidates.find((p) => p && existsSync(p));
  browser = await chromium.launch({
    headless: !values.headed,
    ...(executablePath ? { executablePath } : {}),
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-component-update'],
  });
  const page = await browser.newPage();
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  page.on('dialog', (d) => void d.accept());
  await smoke(page, chapterUrl);
  process.stdout.write(`smoke:webcontainer: passed (${checked.length} checks)\n`);
} catch (err) {
  exitCode = 1;
  const message = err instanceof SmokeFailure ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`\nsmoke:webcontainer FAILED: ${message}\n`);
  if (checked.length) process.stderr.write(`Passed before that: ${checked.join('; ')}.\n`);
  if (consoleLines.length) process.stderr.write(`Last lines of the page's console:\n${consoleLines.slice(-20).map((l) => `  ${l}`).join('\n')}\n`);
} finally {
  await browser?.close().catch(() => {});
  if (preview?.child.exitCode === null) preview.child.kill('SIGTERM');
}
process.exit(exitCode);
