/**
 * Page weight, measured the same way for the course and for a bare Starlight site: every response
 * a page receives, gzipped here (level 6, what hosts commonly send), so figures do not depend on
 * the server. Used by the budget e2e test and by `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Page, Response } from '@playwright/test';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BARE_FIXTURE = join(ROOT, 'tests/fixtures/bare-starlight');

export interface Transfer {
  url: string;
  type: string;
  gzipBytes: number;
}

/** Records every response while `action` runs. */
export async function recordTransfers(page: Page, action: () => Promise<void>): Promise<Transfer[]> {
  const pending: Promise<Transfer | undefined>[] = [];
  const onResponse = (response: Response) => {
    pending.push(
      response.body().then(
        (body) => ({ url: response.url(), type: response.request().resourceType(), gzipBytes: gzipSync(body).length }),
        () => undefined,
      ),
    );
  };
  page.on('response', onResponse);
  try {
    await action();
  } finally {
    page.off('response', onResponse);
  }
  return (await Promise.all(pending)).filter((t): t is Transfer => t !== undefined);
}

export function sum(transfers: Transfer[], type?: string): number {
  return transfers.filter((t) => !type || t.type === type).reduce((n, t) => n + t.gzipBytes, 0);
}

/** Opens a page and scrolls to its end, as a reader would; returns everything it loaded. */
export async function readToEnd(page: Page, url: string): Promise<Transfer[]> {
  return recordTransfers(page, async () => {
    await page.goto(url, { waitUntil: 'networkidle' });
    await page.evaluate(async () => {
      for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
        window.scrollTo(0, y);
        await new Promise((r) => requestAnimationFrame(r));
      }
      window.scrollTo(0, document.body.scrollHeight);
    });
    await page.waitForLoadState('networkidle');
  });
}

/**
 * Builds the bare Starlight fixture with one course chapter copied in, its course components
 * (lab, quiz) taken out, so the two pages differ only by what the course adds.
 */
export function buildBareFixture(chapter: string): string {
  const source = readFileSync(join(ROOT, 'src/content/docs/chapters', `${chapter}.mdx`), 'utf8');
  const bare = source
    .split('\n')
    .filter((line) => !/^import\s/.test(line) && !/^\s*<(Lab|Quiz)\b.*\/>\s*$/.test(line))
    .join('\n');
  const target = join(BARE_FIXTURE, 'src/content/docs/chapter.mdx');
  mkdirSync(join(BARE_FIXTURE, 'src/content/docs'), { recursive: true });
  writeFileSync(target, bare);
  rmSync(join(BARE_FIXTURE, 'dist'), { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/astro/bin/astro.mjs'), 'build', '--root', BARE_FIXTURE], { stdio: 'pipe', cwd: ROOT });
  } finally {
    rmSync(target, { force: true });
  }
  return join(BARE_FIXTURE, 'dist');
}
