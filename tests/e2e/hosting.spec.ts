import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { ROOT } from '../support/page-weight.ts';
import { serveStatic } from '../support/static-server.ts';
import { applySolution, openLabOnWorker, runAndWait } from '../support/lab-page.ts';
import { startNginx } from '../support/nginx.ts';

const DIST = join(ROOT, 'dist');

async function runSolution(page: Page, url: string) {
  await page.goto(url);
  const root = page.locator('[data-testid="lab"][data-lab="01-clones"]');
  await openLabOnWorker(root);
  await applySolution(root);
  await runAndWait(root);
  const steps = root.getByTestId('lab-step');
  const count = await steps.count();
  for (let i = 0; i < count; i++) await expect(steps.nth(i)).toHaveAttribute('data-status', 'passed', { timeout: 30_000 });
  return root;
}

/**
 * The site through a real nginx with the shipped snippet: isolated, compressed (Debian's nginx
 * gzips only HTML unless told), the lab's round trip, and the course's own 404 page.
 */
async function checkNginx(page: Page, dist: string, base: string) {
  const nginx = await startNginx(dist, base);
  try {
    await page.goto(`${nginx.url}chapters/01-clones/`);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);

    const assets = readdirSync(join(dist, '_astro'));
    const pick = (pattern: RegExp) => `_astro/${assets.find((f) => pattern.test(f))!}`;
    for (const path of [pick(/^editor\.api\..*\.js$/), pick(/^monaco-editor\..*\.css$/), pick(/^ts\.worker-.*\.js$/), 'lab-assets/kit.js', 'lab-assets/01-clones.json', 'lab-assets/sql-wasm.wasm']) {
      const response = await fetch(`${nginx.url}${path}`, { headers: { 'Accept-Encoding': 'gzip' } });
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-encoding'), `${path} is sent compressed`).toBe('gzip');
      expect(response.headers.get('cross-origin-embedder-policy'), path).toBe('require-corp');
    }

    const missing = await fetch(`${nginx.url}chapters/no-such-chapter/`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(await missing.text()).toContain('<title>404 | Scale Lab</title>');
    await page.goto(`${nginx.url}no/such/page`);
    await expect(page).toHaveTitle('404 | Scale Lab');
    await expect(page.locator('h1')).toContainText('404');

    await runSolution(page, `${nginx.url}chapters/01-clones/?runtime=worker`);
  } finally {
    await nginx.close();
  }
}

test('dist through a real nginx with the shipped snippet: isolated, compressed, the lab runs, and a missing page is the course\'s 404', async ({ page }) => {
  test.setTimeout(120_000);
  await checkNginx(page, DIST, '/');
});

test('dist served by a plain static server with the shipped _headers is cross-origin isolated', async ({ page }) => {
  const server = await serveStatic(DIST, { applyHeadersFile: true });
  try {
    await page.goto(`${server.url}chapters/01-clones/`);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
  } finally {
    await server.close();
  }
});

test('served without those headers, the lab still runs, on the Worker, and says why', async ({ page }) => {
  const server = await serveStatic(DIST);
  try {
    await page.goto(`${server.url}chapters/01-clones/`);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(false);
    const root = await runSolution(page, `${server.url}chapters/01-clones/`);
    await expect(root.getByTestId('lab-runtime-notice')).toContainText('cross-origin isolated');
  } finally {
    await server.close();
  }
});

test('a build under /course/ passes the lab round trip', async ({ page }) => {
  test.setTimeout(600_000);
  const outDir = join(ROOT, 'dist-course');
  execFileSync(process.execPath, [join(ROOT, 'node_modules/astro/bin/astro.mjs'), 'build'], {
    cwd: ROOT,
    stdio: 'pipe',
    env: { ...process.env, SCALE_LAB_BASE: '/course/', SCALE_LAB_OUT_DIR: outDir },
  });
  const server = await serveStatic(outDir, { base: '/course/', applyHeadersFile: true });
  try {
    await runSolution(page, `${server.url}chapters/01-clones/?runtime=worker`);
    // Links, the worker, the .wasm and storage all live under /course/.
    const keys = (await page.evaluate(() => Object.keys(localStorage))).filter((k) => k.startsWith('scale-lab'));
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => !k.includes(':/course/:')), 'course storage keys outside the /course/ base').toEqual([]);
    await page.goto(`${server.url}chapters/00-one-server/`);
    await page.locator('.sl-markdown-content').getByRole('link', { name: 'Clones', exact: true }).last().click();
    await expect(page).toHaveURL(/\/course\/chapters\/01-clones\/$/);
  } finally {
    await server.close();
  }
  await checkNginx(page, outDir, '/course/');
});
