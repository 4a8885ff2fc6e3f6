import { expect, test, type Locator, type Page } from '@playwright/test';
import { openLabOnWorker } from '../support/lab-page.ts';

/** The lab's workspace: the whole window, the page beneath inert, resizable, and a way back. */
const CHAPTER = 'chapters/01-clones/?runtime=worker';

test.use({ viewport: { width: 1400, height: 900 } });

async function fresh(page: Page): Promise<Locator> {
  await page.goto(CHAPTER);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  return page.locator('[data-testid="lab"][data-lab="01-clones"]');
}

async function box(locator: Locator) {
  const b = await locator.boundingBox();
  if (!b) throw new Error('not laid out');
  return b;
}

test('on a 1400 × 900 window the editor gets at least 900 px, the steps sit beside it, and the page beneath is inert', async ({ page }) => {
  const lab = await fresh(page);
  await openLabOnWorker(lab);
  await expect(lab).toHaveAttribute('data-layout', 'workspace');
  await expect(lab).toHaveAttribute('role', 'dialog');
  await expect(page).toHaveURL(/#lab$/);
  const editor = await box(lab.locator('.lab-editor'));
  expect(editor.width).toBeGreaterThanOrEqual(900);
  // The whole of a 100-character line of the starter fits without scrolling sideways.
  const longest = await lab.locator('.lab-editor .view-lines').evaluate((el) => el.scrollWidth);
  expect(longest).toBeLessThanOrEqual(editor.width);
  const steps = await box(lab.locator('.lab-side-steps'));
  expect(steps.x).toBeGreaterThanOrEqual(editor.x + editor.width);
  expect(steps.y).toBeLessThan(editor.y + editor.height);
  expect(steps.y + Math.min(steps.height, 200)).toBeLessThanOrEqual(900);
  await expect(lab.getByTestId('lab-step').first()).toBeInViewport();
  expect(await page.locator('.sl-markdown-content').evaluate((el) => el.closest('[inert]') !== null)).toBe(true);
  // A later live picture of the cluster has its place in the side column.
  await expect(lab.getByTestId('lab-cluster-region')).toHaveCount(1);
});

test('Escape, the button and Back return to the chapter where the reader was; #lab reopens it after a reload', async ({ page }) => {
  const lab = await fresh(page);
  await lab.scrollIntoViewIfNeeded();
  const before = await page.evaluate(() => window.scrollY);
  await openLabOnWorker(lab);
  await expect(lab).toHaveAttribute('data-layout', 'workspace');

  await lab.getByTestId('lab-run').focus();
  await page.keyboard.press('Escape');
  await expect(lab).toHaveAttribute('data-layout', 'page');
  await expect(page).not.toHaveURL(/#lab/);
  expect(Math.abs((await page.evaluate(() => window.scrollY)) - before)).toBeLessThan(2);
  expect(await page.locator('.sl-markdown-content').evaluate((el) => el.closest('[inert]') !== null)).toBe(false);
  await expect(lab.getByTestId('lab-workspace-toggle')).toBeFocused();

  await lab.getByTestId('lab-workspace-toggle').click();
  await expect(lab).toHaveAttribute('data-layout', 'workspace');
  await expect(page).toHaveURL(/#lab$/);
  await page.goBack();
  await expect(lab).toHaveAttribute('data-layout', 'page');
  await expect(page).toHaveURL(/01-clones\/\?runtime=worker$/);

  await page.goForward();
  await expect(lab).toHaveAttribute('data-layout', 'workspace');
  await page.reload();
  await expect(lab).toHaveAttribute('data-layout', 'workspace', { timeout: 30_000 });
  await expect(lab.locator('.monaco-editor').first()).toBeVisible();
  await lab.getByTestId('lab-workspace-toggle').click();
  await expect(lab).toHaveAttribute('data-layout', 'page');
});

test('Escape inside the editor first closes what the editor shows (suggestions), then leaves', async ({ page }) => {
  const lab = await fresh(page);
  await openLabOnWorker(lab);
  await lab.locator('.lab-editor .view-lines').click();
  await page.keyboard.press('ControlOrMeta+End');
  await page.keyboard.press('Control+Space');
  await expect(lab.locator('.suggest-widget.visible')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(lab.locator('.suggest-widget.visible')).toHaveCount(0);
  await expect(lab).toHaveAttribute('data-layout', 'workspace');
  await page.keyboard.press('Escape');
  await expect(lab).toHaveAttribute('data-layout', 'page');
});

test('the regions resize by keyboard and by mouse, and the sizes and the choice of layout are remembered', async ({ page }) => {
  const lab = await fresh(page);
  await openLabOnWorker(lab);
  const editor = lab.locator('.lab-editor');
  const wide = (await box(editor)).width;
  const bar = lab.getByRole('separator', { name: 'Resize the editor and the steps' });
  await bar.focus();
  await page.keyboard.press('Shift+ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await expect(bar).toHaveAttribute('aria-valuenow', '56');
  await expect.poll(async () => (await box(editor)).width).toBeLessThan(wide - 100);
  await page.keyboard.press('End');
  await expect(bar).toHaveAttribute('aria-valuenow', '82');

  const rows = lab.getByRole('separator', { name: 'Resize the steps and the console' });
  const stepsBefore = (await box(lab.locator('.lab-side-steps'))).height;
  const handle = await box(rows);
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(handle.x + handle.width / 2, handle.y - 150, { steps: 5 });
  await page.mouse.up();
  await expect.poll(async () => (await box(lab.locator('.lab-side-steps'))).height).toBeLessThan(stepsBefore - 100);
  const rowsValue = await rows.getAttribute('aria-valuenow');

  // Leaving the workspace is a choice: the next lab opens in the page, with the sizes kept.
  await page.keyboard.press('Escape');
  await expect(lab).toHaveAttribute('data-layout', 'page');
  await page.reload();
  await openLabOnWorker(lab);
  await expect(lab).toHaveAttribute('data-layout', 'page');
  await expect(page).not.toHaveURL(/#lab/);
  await lab.getByTestId('lab-workspace-toggle').click();
  await expect(lab.getByRole('separator', { name: 'Resize the editor and the steps' })).toHaveAttribute('aria-valuenow', '82');
  await expect(lab.getByRole('separator', { name: 'Resize the steps and the console' })).toHaveAttribute('aria-valuenow', rowsValue!);
});

test('a narrow window keeps one column: the steps come under the editor', async ({ page }) => {
  await page.setViewportSize({ width: 600, height: 900 });
  const lab = await fresh(page);
  await openLabOnWorker(lab);
  await expect(lab).toHaveAttribute('data-layout', 'workspace');
  const editor = await box(lab.locator('.lab-editor'));
  const steps = await box(lab.locator('.lab-side-steps'));
  expect(steps.y).toBeGreaterThanOrEqual(editor.y + editor.height);
  expect(editor.width).toBeGreaterThan(500);
  await expect(lab.getByRole('separator')).toHaveCount(0);
});
