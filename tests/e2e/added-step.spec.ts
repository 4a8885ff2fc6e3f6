import { expect, test, type Page } from '@playwright/test';

/**
 * A reader who had finished a lab that later gained a step, or a chapter that later gained a lab, is
 * told why it shows as in progress again, in the lab's summary on the chapter and in the Progress
 * page's table. The page renders fixture labs (tests/fixtures/labs/99-added-step: step 3
 * "Resharding" added on 2026-11-26; tests/fixtures/labs/98-added-lab: a two-step lab added on
 * 2026-11-26 to a chapter with a four-question quiz) with the chapter's <Lab> and the Progress page's
 * table and scripts (src/test-pages/added-step.astro).
 */
const PAGE = 'e2e/added-step/';
const MESSAGE = 'Step 3 “Resharding” was added on 2026-11-26, after you had finished this lab: the chapter shows as in progress until you pass it.';
const at = (day: string) => Date.parse(`${day}T12:00:00Z`);

/** Seeds the progress an earlier reader would have stored (format 1), then loads the page afresh. */
async function seed(page: Page, chapters: Record<string, unknown>) {
  await page.goto(PAGE);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.evaluate((c) => {
    localStorage.clear();
    const base = document.body.dataset.base!;
    localStorage.setItem(`scale-lab:${base}:progress`, JSON.stringify({ format: 1, chapters: c }));
  }, chapters);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

const withProgress = (page: Page, steps: Record<string, number>) => seed(page, { '99-added-step': { read: Date.parse('2026-11-01'), steps } });

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

const LAB_MESSAGE = 'New since you finished this chapter: a lab with 2 steps, added on 2026-11-26. The chapter shows as in progress until you pass them.';
const readAndQuiz = (day: string, score = 4) => ({ read: at(day), quiz: { score, total: 4, at: at(day) } });

test('a chapter finished by reading and the quiz before its lab came: the lab and the progress table say so', async ({ page }) => {
  await seed(page, { '98-added-lab': readAndQuiz('2026-11-20') });
  await expect(page.getByTestId('lab-added-lab')).toBeVisible();
  await expect(page.getByTestId('lab-added-lab')).toHaveText(LAB_MESSAGE);
  const row = page.locator('tr[data-chapter="98-added-lab"]');
  await expect(row).toHaveAttribute('data-state', 'in-progress');
  await expect(row.getByTestId('progress-added-lab')).toHaveText(LAB_MESSAGE);
  await expect(row.locator('[data-col="lab"]')).toContainText('0 of 2');
  // The other fixture's notices stay hidden: each lab speaks for its own chapter.
  await expect(page.getByTestId('lab-added-step')).toBeHidden();

  // Once every step has passed, the chapter is done again and the notice is gone.
  await seed(page, { '98-added-lab': { ...readAndQuiz('2026-11-20'), steps: { enqueue: at('2026-11-27'), retry: at('2026-11-27') } } });
  await expect(page.locator('tr[data-chapter="98-added-lab"]')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('lab-added-lab')).toBeHidden();
  await expect(page.getByTestId('progress-added-lab')).toHaveCount(0);
});

test('a chapter not finished before its lab came: nothing new is said', async ({ page }) => {
  // Read, but the quiz failed (2 of 4); read and passed, but after the lab came; never opened.
  for (const chapters of [{ '98-added-lab': readAndQuiz('2026-11-20', 2) }, { '98-added-lab': readAndQuiz('2026-11-27') }, {}]) {
    await seed(page, chapters);
    await expect(page.getByTestId('lab-added-lab')).toBeHidden();
    await expect(page.getByTestId('progress-added-lab')).toHaveCount(0);
  }
  await expect(page.locator('tr[data-chapter="98-added-lab"]')).toHaveAttribute('data-state', 'not-started');
});

test('the course itself: Multiple datacenters, finished before its lab came, says so on the chapter and the Progress page', async ({ page }) => {
  await page.goto('chapters/06-multiple-datacenters/');
  const href = await page.locator('a[data-chapter]').first().getAttribute('href');
  const base = href!.replace(/chapters\/.*$/, '');
  // As a reader of the course before the lab would have stored it: read, quiz passed, no lab steps.
  await page.evaluate((key) => {
    localStorage.clear();
    const at = Date.parse('2026-11-10T12:00:00Z');
    localStorage.setItem(key, JSON.stringify({ format: 1, chapters: { '06-multiple-datacenters': { read: at, quiz: { score: 5, total: 5, at } } } }));
  }, `scale-lab:${base}:progress`);
  await page.reload();
  const note = page.locator('[data-testid="lab"][data-lab="06-multiple-datacenters"]').getByTestId('lab-added-lab');
  await expect(note).toBeVisible();
  await expect(note).toHaveText(/^New since you finished this chapter: a lab with \d+ steps, added on \d{4}-\d\d-\d\d\./);
  const message = (await note.textContent())!.trim();
  await page.goto('progress/');
  const row = page.locator('tr[data-chapter="06-multiple-datacenters"]');
  await expect(row.locator('[data-col="state"]')).toHaveText('In progress');
  await expect(row.getByTestId('progress-added-lab')).toHaveText(message);
  // Chapters that had their lab from the start say nothing to a reader who finished them.
  await expect(page.getByTestId('progress-added-lab')).toHaveCount(1);
});
