import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { openLabOnWorker } from '../support/lab-page.ts';

const CHAPTERS = ['00-one-server', '01-clones', '02-databases', '03-caching', '04-asynchronism', '05-cdn', '06-multiple-datacenters'];

async function seriousViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

for (const chapter of CHAPTERS) {
  test(`${chapter}: no serious or critical axe violations, with the lab open and the quiz answered`, async ({ page }) => {
    test.setTimeout(120_000); // two scans where there is a lab: the workspace, then the page
    await page.goto(`chapters/${chapter}/?runtime=worker`);
    // The quiz first: an open lab's workspace makes the page beneath it inert.
    const quiz = page.getByTestId('quiz');
    if (await quiz.count()) {
      await quiz.getByTestId('quiz-option').first().check();
      await quiz.getByTestId('quiz-submit').click();
      await expect(quiz.getByTestId('quiz-score')).not.toBeEmpty();
    }
    const lab = page.getByTestId('lab');
    if (await lab.count()) {
      await openLabOnWorker(lab);
      await expect(lab.locator('.monaco-editor').first()).toBeVisible();
      // Unused code faded by the editor fails contrast once TypeScript's hints arrive, whenever that is.
      await expect(lab.locator('.monaco-editor.showUnused')).toHaveCount(0);
      expect(await seriousViolations(page), 'in the workspace').toEqual([]);
      await lab.getByTestId('lab-workspace-toggle').click();
      await expect(lab).toHaveAttribute('data-layout', 'page');
    }
    expect(await seriousViolations(page)).toEqual([]);
  });
}

for (const path of ['', 'progress/', 'team/', 'teams/hosting/']) {
  test(`/${path}: no serious or critical axe violations`, async ({ page }) => {
    await page.goto(path);
    expect(await seriousViolations(page)).toEqual([]);
  });
}

// The page as built, before any script has run: a code block that scrolls must already be reachable
// by keyboard (Expressive Code's own script makes it so only after a timer and an idle callback).
test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  for (const path of ['teams/hosting/', 'chapters/01-clones/', 'chapters/04-asynchronism/']) {
    test(`/${path}: every code block that scrolls takes keyboard focus`, async ({ page }) => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(path);
      const blocks = await page.locator('.expressive-code pre').evaluateAll((pres) =>
        pres.map((pre) => ({ scrolls: pre.scrollWidth > pre.clientWidth, focusable: pre.tabIndex >= 0 })),
      );
      expect(blocks.filter((b) => b.scrolls).length, 'at a phone width some code blocks should scroll').toBeGreaterThan(0);
      expect(blocks.filter((b) => b.scrolls && !b.focusable)).toEqual([]);
    });
  }
});

test('keyboard only: open a lab, edit, run, and read the results', async ({ page }) => {
  await page.goto('chapters/01-clones/?runtime=worker');
  const lab = page.locator('[data-testid="lab"][data-lab="01-clones"]');

  // Tab through the page to the lab's Open button.
  const focusedTestId = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  for (let i = 0; i < 300 && (await focusedTestId()) !== 'lab-open'; i++) await page.keyboard.press('Tab');
  expect(await focusedTestId()).toBe('lab-open');
  await page.keyboard.press('Enter');
  await expect(lab).toHaveAttribute('data-runtime', 'worker', { timeout: 30_000 });

  // Into the editor: Tab onward until the editor's text area has focus.
  const inEditor = () => page.evaluate(() => !!document.activeElement?.closest('.monaco-editor'));
  for (let i = 0; i < 30 && !(await inEditor()); i++) await page.keyboard.press('Tab');
  expect(await inEditor()).toBe(true);
  await page.keyboard.press('ControlOrMeta+End');
  await page.keyboard.insertText('\n// edited with the keyboard\n');

  // Run with the shortcut, then leave the editor the way the page says (Ctrl+M, then Tab).
  await page.keyboard.press('Control+Enter');
  await expect(lab.locator('[data-testid="lab-step"][data-status="running"]')).toHaveCount(0, { timeout: 30_000 });
  await expect(lab.getByTestId('lab-announce')).toContainText('of 4 steps passed');
  await page.keyboard.press('Control+m');
  await page.keyboard.press('Tab');
  expect(await inEditor()).toBe(false);

  // Reach the first step's "Run this step" button and use it.
  for (let i = 0; i < 40 && (await focusedTestId()) !== 'lab-run-step'; i++) await page.keyboard.press('Tab');
  expect(await focusedTestId()).toBe('lab-run-step');
  await page.keyboard.press('Enter');
  await expect(lab.locator('[data-step="round-robin"]')).toHaveAttribute('data-status', 'failed', { timeout: 30_000 });
  await expect(lab.locator('[data-step="round-robin"] .lab-failure-message').first()).toContainText('round robin');

  // The lab opened as a workspace over the page; Escape goes back to the chapter, focus on the way back in.
  await expect(lab).toHaveAttribute('data-layout', 'workspace');
  await page.keyboard.press('Escape');
  await expect(lab).toHaveAttribute('data-layout', 'page');
  expect(await focusedTestId()).toBe('lab-workspace-toggle');
  await page.keyboard.press('Enter');
  await expect(lab).toHaveAttribute('data-layout', 'workspace');
  expect(await page.evaluate(() => document.activeElement?.getAttribute('data-lab'))).toBe('01-clones');
});
