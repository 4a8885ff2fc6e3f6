import { expect, test, type Page } from '@playwright/test';

/**
 * A reader who had finished a lab that later gained a step is told why it shows as in progress again,
 * in the lab's summary on the chapter and in the Progress page's table. The page renders a fixture lab
 * (tests/fixtures/labs/99-added-step: step 3 "Resharding" added on 2026-11-26) with the chapter's
 * <Lab> and the Progress page's table and scripts (src/test-pages/added-step.astro).
 */
const PAGE = 'e2e/added-step/';
const MESSAGE = 'Step 3 “Resharding” was added on 2026-11-26, after you had finished this lab: the chapter shows as in progress until you pass it.';
const at = (day: string) => Date.parse(`${day}T12:00:00Z`);

async function withProgress(page: Page, steps: Record<string, number>) {
  await page.goto(PAGE);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.evaluate((s) => {
    localStorage.clear();
    const base = document.body.dataset.base!;
    localStorage.setItem(`scale-lab:${base}:progress`, JSON.stringify({ format: 1, chapters: { '99-added-step': { read: Date.parse('2026-11-01'), steps: s } } }));
  }, steps);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

test('finished before the step came: the lab and the progress table say which step and when', async ({ page }) => {
  await withProgress(page, { split: at('2026-11-20'), failover: at('2026-11-21') });
  await expect(page.getByTestId('lab-added-step')).toBeVisible();
  await expect(page.getByTestId('lab-added-step')).toHaveText(MESSAGE);
  const row = page.locator('tr[data-chapter="99-added-step"]');
  await expect(row).toHaveAttribute('data-state', 'in-progress');
  await expect(row.getByTestId('progress-added-step')).toHaveText(MESSAGE);
  await expect(row.locator('[data-col="lab"]')).toContainText('2 of 3');

  // Once the new step has passed, the notice is gone.
  await page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.endsWith(':progress'))!;
    const value = JSON.parse(localStorage.getItem(key)!);
    value.chapters['99-added-step'].steps.resharding = Date.parse('2026-11-27');
    localStorage.setItem(key, JSON.stringify(value));
  });
  await page.reload();
  await expect(page.getByTestId('lab-added-step')).toBeHidden();
  await expect(page.locator('tr[data-chapter="99-added-step"]')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('progress-added-step')).toHaveCount(0);
});

test('not finished, or finished after the step came: no notice', async ({ page }) => {
  await withProgress(page, { split: at('2026-11-20') });
  await expect(page.locator('tr[data-chapter="99-added-step"]')).toHaveAttribute('data-state', 'in-progress');
  await expect(page.getByTestId('lab-added-step')).toBeHidden();
  await expect(page.getByTestId('progress-added-step')).toHaveCount(0);
  await withProgress(page, { split: at('2026-11-28'), failover: at('2026-11-28') });
  await expect(page.getByTestId('lab-added-step')).toBeHidden();
  await expect(page.getByTestId('progress-added-step')).toHaveCount(0);
});
