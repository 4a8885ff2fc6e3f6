/**
 * What the playground costs a reader, for `npm run bench`: the gzipped bytes that opening it and
 * starting a cluster add to an opened lab (budget 80 KB), and the longest main-thread task while a
 * run streams frames (traffic, then a kill), in Chromium (goal 50 ms; the e2e fails over 200 ms).
 */
import { gzipSync } from 'node:zlib';
import type { Browser, Locator, Page, Response } from '@playwright/test';
import { openLabOnWorker, watchLongTasks } from '../tests/support/lab-page.ts';

/**
 * Responses received while `action` runs that really came over the network (a Worker started again
 * from the same cached script does not count), by file name, gzipped. Monaco's own workers, which
 * the opened editor may still be starting, are left out: the playground does not load them.
 */
async function downloaded(page: Page, action: () => Promise<void>): Promise<Record<string, number>> {
  const pending: Promise<[string, number] | undefined>[] = [];
  let last = Date.now();
  const onResponse = (response: Response) => {
    last = Date.now();
    const name = new URL(response.url()).pathname.split('/').pop()!;
    if (/^(ts|editor)\.worker/.test(name)) return;
    pending.push(
      (async () => {
        // Served from the browser's cache: no server address.
        if (response.status() === 304 || (await response.serverAddr()) === null) return undefined;
        return [name, gzipSync(await response.body()).length] as [string, number];
      })().catch(() => undefined),
    );
  };
  page.on('response', onResponse);
  try {
    await action();
    // Until nothing has arrived for a second: the page's "networkidle" never comes once the
    // playground's sandboxed frame is up (an out-of-process frame without a network of its own).
    const started = Date.now();
    while (Date.now() - last < 1000 && Date.now() - started < 30_000) await page.waitForTimeout(100);
  } finally {
    page.off('response', onResponse);
  }
  return Object.fromEntries((await Promise.all(pending)).filter((x) => x !== undefined));
}

export interface PictureBench {
  /** Gzipped bytes loaded by "Open the playground" and "Start your cluster". */
  bytes: number;
  /** What was loaded, by file name, in gzipped bytes. */
  files: Record<string, number>;
  /** Longest main-thread task while frames streamed, in ms. */
  longestTask: number;
  /** How long frames streamed, in ms of wall time. */
  streamedMs: number;
}

/** A fresh page with the Clones lab opened on the Worker, everything it loads loaded. */
async function openClones(browser: Browser, siteUrl: string): Promise<{ page: Page; root: Locator }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${siteUrl}chapters/01-clones/?runtime=worker`);
  const root = page.locator('[data-testid="lab"][data-lab="01-clones"]');
  await openLabOnWorker(root);
  await page.waitForLoadState('networkidle');
  return { page, root };
}

export async function benchPicture(browser: Browser, siteUrl: string, streamMs = 8000): Promise<PictureBench> {
  const { page, root } = await openClones(browser, siteUrl);
  try {
    const files = await downloaded(page, async () => {
      await root.getByTestId('playground-open').click();
      await root.getByTestId('playground-start').click();
      await page.waitForFunction(() => /running/.test(document.querySelector('[data-testid="playground-status"]')?.textContent ?? ''), null, { timeout: 30_000 });
    });
    const longest = await watchLongTasks(page);
    await root.getByTestId('playground-rate').fill('200');
    await root.getByTestId('playground-send').click();
    await page.waitForTimeout(streamMs / 2);
    await root.getByTestId('playground-node').selectOption('app-2');
    await root.getByTestId('playground-kill').click();
    await page.waitForTimeout(streamMs / 2);
    const longestTask = await longest();
    return { bytes: Object.values(files).reduce((a, b) => a + b, 0), files, longestTask, streamedMs: streamMs };
  } finally {
    await page.close();
  }
}

export interface ReplayBench {
  /** Gzipped bytes loaded by the first "What happened" (the replay view, its diagram and the picture). */
  bytes: number;
  files: Record<string, number>;
  /** Longest main-thread task from the click until the replay is drawn and scrubbed end to end, in ms. */
  longestTask: number;
  /** Rows of the replay that was opened (the Clones starter's round-robin failure). */
  rows: number;
}

/** What "What happened" costs: its bytes, loaded on first use, and the longest task while it opens and is scrubbed. */
export async function benchReplay(browser: Browser, siteUrl: string): Promise<ReplayBench> {
  const { page, root } = await openClones(browser, siteUrl);
  try {
    await root.getByTestId('lab-run').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="lab-replay-open"]').length > 0 && !document.querySelector('[data-testid="lab-step"][data-status="running"]'), null, { timeout: 60_000 });
    await page.waitForLoadState('networkidle');
    const longest = await watchLongTasks(page);
    const files = await downloaded(page, async () => {
      await root.getByTestId('lab-replay-open').first().click();
      await root.getByTestId('replay-slider').waitFor();
      await page.waitForLoadState('networkidle');
    });
    const slider = root.getByTestId('replay-slider');
    const rows = Number(await slider.getAttribute('max')) + 1;
    for (let i = 0; i < rows; i += Math.max(1, Math.floor(rows / 20))) await slider.fill(String(i));
    const longestTask = await longest();
    return { bytes: Object.values(files).reduce((a, b) => a + b, 0), files, longestTask, rows };
  } finally {
    await page.close();
  }
}
