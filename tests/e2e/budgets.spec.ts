import { expect, test } from '@playwright/test';
import { buildBareFixture, readToEnd, recordTransfers, sum } from '../support/page-weight.ts';
import { serveStatic } from '../support/static-server.ts';
import { openLabOnWorker } from '../support/lab-page.ts';

/** The byte budgets of issue #5. Times are printed by `npm run bench`, not enforced. */
const CHAPTER_JS_RATIO = 1.15;
const OPEN_LAB_BYTES = 3_000_000;

test('a chapter read to its end, lab closed, costs at most 1.15x the JS of the same page on bare Starlight', async ({ page }) => {
  test.setTimeout(180_000);
  const bare = await serveStatic(buildBareFixture('01-clones'));
  try {
    const ours = sum(await readToEnd(page, 'chapters/01-clones/'), 'script');
    const baseline = sum(await readToEnd(page, `${bare.url}chapter/`), 'script');
    console.log(`chapter JS: course ${ours} B, bare Starlight ${baseline} B (gzip), ratio ${(ours / baseline).toFixed(3)}`);
    expect(ours / baseline, `the course page loads ${ours} B of gzipped JS, bare Starlight ${baseline} B`).toBeLessThanOrEqual(CHAPTER_JS_RATIO);
  } finally {
    await bare.close();
  }
});

test('opening a lab (editor ready) costs at most 3 MB gzipped', async ({ page }) => {
  await page.goto('chapters/01-clones/?runtime=worker');
  const root = page.locator('[data-testid="lab"][data-lab="01-clones"]');
  const transfers = await recordTransfers(page, async () => {
    await openLabOnWorker(root);
    await expect(root.locator('.monaco-editor').first()).toBeVisible();
    await page.waitForLoadState('networkidle');
  });
  const bytes = sum(transfers);
  console.log(`opening a lab: ${bytes} B gzipped in ${transfers.length} responses`);
  expect(bytes, `opening the lab loaded ${bytes} B gzipped`).toBeLessThanOrEqual(OPEN_LAB_BYTES);
});
