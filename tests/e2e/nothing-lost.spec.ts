import { expect, test, type Page } from '@playwright/test';
import { applySolution, openLabOnWorker, runAndWait } from '../support/lab-page.ts';

/**
 * Nothing the reader did is lost: with storage full, with unreadable saved values, with two tabs on
 * one lab, and when importing a damaged export. The lab page logic runs over a fake runtime here
 * (src/test-pages/lab-view.astro), except where the chapter's own lab is needed.
 */
const PAGE = 'e2e/lab-view/';

/** From now on, this page's localStorage refuses every write, as a full one does; `false` ends it. */
async function storageFull(page: Page, full = true) {
  await page.evaluate((on) => {
    const w = window as unknown as { __full?: boolean; __patched?: boolean };
    w.__full = on;
    if (w.__patched) return;
    w.__patched = true;
    const setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = function (key: string, value: string) {
      if (w.__full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return setItem.call(this, key, value);
    };
  }, full);
}

async function open(page: Page) {
  const lab = page.getByTestId('lab');
  await expect(lab).toHaveAttribute('data-ready', 'true');
  return lab;
}

async function type(page: Page, file: string, text: string) {
  await page.getByTestId('lab').locator(`textarea[data-file="${file}"]`).evaluate((el: HTMLTextAreaElement, t) => {
    el.value = t;
    el.dispatchEvent(new Event('input'));
  }, text);
}

test.beforeEach(async ({ page }) => {
  await page.goto(PAGE);
  await page.evaluate(() => localStorage.clear());
});

test('storage full: typing warns, a run does not hide the warning, and the next save that works does', async ({ page }) => {
  await page.goto(PAGE);
  const lab = await open(page);
  await storageFull(page);
  await type(page, 'balancer.ts', '// not saved');
  const warning = lab.getByTestId('lab-storage-warning');
  await expect(warning).toBeVisible();
  await expect(warning).toContainText('a reload would lose them');
  await expect(warning).toContainText('Export your work from the Progress page, or free some storage');
  await page.evaluate(() => ((window as unknown as { __fake: { next: unknown } }).__fake.next = { error: 'stopped' }));
  await lab.getByTestId('lab-run').click();
  await expect(lab.getByTestId('lab-error')).toBeVisible();
  await expect(warning).toBeVisible();
  await storageFull(page, false);
  await type(page, 'balancer.ts', '// saved');
  await expect(warning).toBeHidden();
  await page.reload();
  await expect((await open(page)).locator('textarea[data-file="balancer.ts"]')).toHaveValue('// saved');
});

test('unreadable saved edits with storage full: no made-up key is named, and the value is never saved over', async ({ page }) => {
  const key = 'scale-lab:/:lab-edits:01-clones';
  // The unreadable value is written as the reloaded page starts (so nothing the previous page still
  // does can save over it first); storage is full from then on, until the test frees it.
  await page.addInitScript((k) => {
    localStorage.setItem(k, '{"half a value');
    const setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = function (k: string, v: string) {
      if (!(window as unknown as { __free?: boolean }).__free) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return setItem.call(this, k, v);
    };
  }, key);
  await page.reload();
  const lab = await open(page);
  const warning = lab.getByTestId('lab-storage-warning');
  await expect(warning).toContainText('could not be read');
  await expect(warning).toContainText('kept as they were');
  await expect(lab.getByText(/set-aside/)).toHaveCount(0);
  await type(page, 'balancer.ts', '// typed while full');
  await expect(warning).toContainText('not being saved');
  expect(await page.evaluate((k) => localStorage.getItem(k), key)).toBe('{"half a value');
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('set-aside')))).toEqual([]);
  // Room again: the next load sets the old value aside (and says where), and saving works.
  await page.evaluate(() => ((window as unknown as { __free: boolean }).__free = true));
  await type(page, 'balancer.ts', '// typed with room');
  await expect(warning).toBeHidden();
  const asides = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('set-aside')));
  expect(asides).toHaveLength(1);
  expect(await page.evaluate((k) => localStorage.getItem(k), asides[0]!)).toBe('{"half a value');
});

test('two tabs on one lab: the stale tab saves nothing until the reader chooses, then keeps what was chosen', async ({ page, context }) => {
  await page.goto(PAGE);
  await open(page);
  const other = await context.newPage();
  await other.goto(PAGE);
  const otherLab = await open(other);

  await type(page, 'balancer.ts', '// from the first tab');
  const notice = otherLab.getByTestId('lab-other-tab');
  await expect(notice).toBeVisible();
  // A keystroke in the stale tab does not replace the first tab's edit.
  await type(other, 'balancer.ts', '// stale keystroke');
  const saved = () => page.evaluate(() => JSON.parse(localStorage.getItem(Object.keys(localStorage).find((k) => k.endsWith(':lab-edits:01-clones'))!)!).files['balancer.ts'].text);
  expect(await saved()).toBe('// from the first tab');

  await notice.getByRole('button', { name: "Use the other tab's version" }).click();
  await expect(notice).toHaveCount(0);
  await expect(otherLab.locator('textarea[data-file="balancer.ts"]')).toHaveValue('// from the first tab');

  // The first tab now hears of it only if the text differs; here it does not.
  await expect(page.getByTestId('lab-other-tab')).toHaveCount(0);
  await type(other, 'balancer.ts', '// second tab, chosen');
  await expect(page.getByTestId('lab-other-tab')).toBeVisible();
  await page.getByTestId('lab-other-tab').getByRole('button', { name: "Keep this tab's version" }).click();
  expect(await saved()).toBe('// from the first tab');
  await other.close();
});

test('with storage full, a step that passes says it could not be recorded in the progress', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('chapters/01-clones/?runtime=worker');
  const root = page.locator('[data-testid="lab"][data-lab="01-clones"]');
  await openLabOnWorker(root);
  await applySolution(root);
  await storageFull(page);
  await runAndWait(root);
  await expect(root.locator('[data-testid="lab-step"][data-status="passed"]').first()).toBeVisible();
  await expect(root.getByTestId('lab-storage-warning')).toContainText('could not record it in your progress');
});

test('import: every damaged field is refused with a sentence, and nothing is written', async ({ page }) => {
  await page.goto('progress/');
  const exported = await page.evaluate(() => ({
    format: 'scale-lab-export',
    version: 1,
    exportedAt: new Date(0).toISOString(),
    reader: '',
    progress: { format: 1, chapters: {} },
    labEdits: { '01-clones': { format: 1, lab: '01-clones', starterVersion: 'v', starter: {}, files: { 'balancer.ts': { text: 'x', savedAt: 1 } } } },
  }));
  const cases: [string, unknown, string][] = [
    ['no version', { ...exported, version: undefined }, '"version" is missing'],
    ['a save time of 1e300', { ...exported, labEdits: { '01-clones': { ...exported.labEdits['01-clones'], files: { 'balancer.ts': { text: 'x', savedAt: 1e300 } } } } }, 'whose save time is not a date'],
    ['a lab the course does not have', { ...exported, labEdits: { 'evil-lab': { ...exported.labEdits['01-clones'], lab: 'evil-lab' } } }, 'a lab this course does not have ("evil-lab")'],
  ];
  for (const [name, content, message] of cases) {
    const before = await page.evaluate(() => JSON.stringify(localStorage));
    await page.getByTestId('progress-import').setInputFiles({ name: 'progress.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(content)) });
    await expect(page.getByTestId('progress-report'), name).toContainText(message);
    await expect(page.getByTestId('progress-report'), name).toContainText('Nothing was changed.');
    expect(await page.evaluate(() => JSON.stringify(localStorage)), name).toBe(before);
  }
});

test('with storage full, "Mark as read" says the chapter was not marked and what to do, until a press works', async ({ page }) => {
  await page.goto('chapters/05-cdn/');
  await page.evaluate(() => localStorage.clear());
  await storageFull(page);
  const button = page.getByTestId('mark-read');
  const note = page.getByTestId('mark-read-failed');
  await button.click();
  await expect(note).toBeVisible();
  await expect(note).toContainText('not marked as read');
  await expect(note.getByRole('link', { name: 'Progress page' })).toHaveAttribute('href', /progress\/$/);
  await expect(button).toHaveText('Mark as read');

  await storageFull(page, false);
  await button.click();
  await expect(note).toBeHidden();
  await expect(button).toHaveText('✓ Read');
});
