import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { applySolution, openLabOnWorker, runAndWait } from '../support/lab-page.ts';

interface QuizData {
  chapter: string;
  questions: { id: string; kind: string; options: { id: string; correct: boolean }[] }[];
}

function quizData(chapter: string): QuizData {
  return JSON.parse(readFileSync(new URL(`../../src/content/quizzes/${chapter}.json`, import.meta.url), 'utf8')) as QuizData;
}

/** The site's base path, read from the sidebar (the storage keys include it). */
async function basePath(page: Page): Promise<string> {
  const href = await page.locator('a[data-chapter]').first().getAttribute('href');
  return href!.replace(/chapters\/.*$/, '');
}

/** Opens a page with empty site storage. */
async function fresh(page: Page, path: string) {
  await page.goto(path);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
}

const progressKey = (base: string) => `scale-lab:${base}:progress`;
const labEditsKey = (base: string, lab: string) => `scale-lab:${base}:lab-edits:${lab}`;

async function setStorage(page: Page, entries: Record<string, unknown>) {
  await page.evaluate((e) => {
    for (const [k, v] of Object.entries(e)) localStorage.setItem(k, typeof v === 'string' ? v : JSON.stringify(v));
  }, entries);
}

async function getStorage(page: Page, key: string): Promise<unknown> {
  return page.evaluate((k) => {
    const v = localStorage.getItem(k);
    return v === null ? null : (JSON.parse(v) as unknown);
  }, key);
}

/** Answers a quiz, right except for the questions listed in `wrong` (by index). */
async function answerQuiz(page: Page, chapter: string, wrong: number[] = []) {
  const quiz = page.locator(`[data-testid="quiz"][data-quiz="${chapter}"]`);
  const data = quizData(chapter);
  for (const [i, q] of data.questions.entries()) {
    const fieldset = quiz.locator(`fieldset[data-question="${q.id}"]`);
    const chosen = wrong.includes(i) ? [q.options.find((o) => !o.correct)!] : q.options.filter((o) => o.correct);
    for (const o of chosen) await fieldset.locator(`[data-option="${o.id}"] [data-testid="quiz-option"]`).check();
  }
  await quiz.getByTestId('quiz-submit').click();
  return { quiz, total: data.questions.length };
}

/** Serious or critical accessibility problems axe finds on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

const mark = (page: Page, chapter: string) => page.locator(`nav[aria-label="Main"] a[data-chapter="${chapter}"] [data-testid="progress-mark"]`);

test('a quiz: score, explanations, retry; the best score is kept across a reload', async ({ page }) => {
  await fresh(page, 'chapters/00-one-server/');
  const { quiz, total } = await answerQuiz(page, '00-one-server', [0]);
  const score = quiz.getByTestId('quiz-score');
  await expect(score).toContainText(`You got ${total - 1} of ${total} right`);
  await expect(score).toHaveAttribute('role', 'status');
  // Every option's explanation is shown, with a word on whether it was right.
  const whys = quiz.locator('.quiz-why');
  await expect(whys.first()).toBeVisible();
  expect(await whys.evaluateAll((els) => els.every((e) => !(e as HTMLElement).hidden))).toBe(true);
  await expect(quiz.locator('fieldset').first().locator('.quiz-verdict')).toContainText('Not quite');
  await expect(quiz.locator('[data-testid="quiz-option"]:enabled')).toHaveCount(0);

  // Retry: the form is cleared and the explanations hidden again.
  await quiz.getByTestId('quiz-retry').click();
  await expect(quiz.locator('[data-testid="quiz-option"]:checked')).toHaveCount(0);
  await expect(quiz.locator('.quiz-why:visible')).toHaveCount(0);
  await expect(quiz.getByTestId('quiz-option').first()).toBeFocused();

  await page.reload();
  await expect(page.locator('[data-testid="quiz"][data-quiz="00-one-server"]').getByTestId('quiz-score')).toContainText(`Your best: ${total - 1} of ${total}`);
});

test('a quiz works with the keyboard alone, and asks for every answer before checking', async ({ page }) => {
  await fresh(page, 'chapters/01-clones/');
  const quiz = page.locator('[data-testid="quiz"][data-quiz="01-clones"]');
  const data = quizData('01-clones');
  // Submitting with nothing answered: a message, and focus on the first unanswered question.
  await quiz.getByTestId('quiz-submit').focus();
  await page.keyboard.press('Enter');
  await expect(quiz.getByTestId('quiz-score')).toContainText('Answer every question first');
  await expect(quiz.locator(`fieldset[data-question="${data.questions[0]!.id}"] input`).first()).toBeFocused();
  // Answer each question from the keyboard: arrows move between radios, Space ticks a checkbox, Tab moves on.
  for (const q of data.questions) {
    const first = quiz.locator(`fieldset[data-question="${q.id}"] input`).first();
    await first.focus();
    if (q.kind === 'multiple') {
      for (const [i, o] of q.options.entries()) {
        if (i > 0) await page.keyboard.press('Tab');
        if (o.correct) await page.keyboard.press('Space');
      }
    } else {
      const right = q.options.findIndex((o) => o.correct);
      await page.keyboard.press('Space');
      for (let i = 0; i < right; i++) await page.keyboard.press('ArrowDown');
    }
  }
  await quiz.getByTestId('quiz-submit').focus();
  await page.keyboard.press('Enter');
  await expect(quiz.getByTestId('quiz-score')).toContainText(`You got ${data.questions.length} of ${data.questions.length} right (100 %)`);
  await expect(quiz.getByTestId('quiz-retry')).toBeFocused();
});

test('without JavaScript, the quiz questions are still on the page', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('chapters/03-caching/');
  const quiz = page.locator('[data-testid="quiz"][data-quiz="03-caching"]');
  await expect(quiz.locator('fieldset legend')).toHaveCount(quizData('03-caching').questions.length);
  await expect(quiz.getByTestId('quiz-option').first()).toBeVisible();
  await context.close();
});

test('passing lab steps changes the chapter mark in the sidebar', async ({ page }) => {
  await fresh(page, 'chapters/01-clones/?runtime=worker');
  await expect(mark(page, '01-clones')).toHaveAttribute('data-state', 'not-started');
  const root = page.locator('[data-testid="lab"][data-lab="01-clones"]');
  await openLabOnWorker(root);
  await applySolution(root);
  await runAndWait(root);
  const steps = root.getByTestId('lab-step');
  // Every step passing is the lab's own test (lab.spec.ts); here, the steps that passed are what counts.
  const count = await steps.count();
  const passed = await root.locator('[data-testid="lab-step"][data-status="passed"]').count();
  expect(passed).toBeGreaterThan(0);

  await expect(mark(page, '01-clones')).toHaveAttribute('data-state', 'in-progress');
  await expect(mark(page, '01-clones')).toHaveText(/in progress/);
  await page.goto('progress/');
  await expect(page.locator('tr[data-chapter="01-clones"] [data-col="lab"]')).toHaveText(`${passed} of ${count}`);
});

test('read, every lab step and a passed quiz make a chapter done; the Progress page shows it', async ({ page }) => {
  // Read and a passed quiz are not enough while the chapter's lab has steps to go.
  await fresh(page, 'chapters/05-cdn/');
  const base = await basePath(page);
  await expect(mark(page, '05-cdn')).toHaveAttribute('data-state', 'not-started');
  await page.getByTestId('mark-read').click();
  await expect(mark(page, '05-cdn')).toHaveAttribute('data-state', 'in-progress');
  const { total } = await answerQuiz(page, '05-cdn', [0]); // one wrong answer still scores at least 80 %
  await expect(mark(page, '05-cdn')).toHaveAttribute('data-state', 'in-progress');
  // Every step of the lab too: now it is done.
  const steps = { 'cache-control': 1, 'cache-key': 2, 'survive-the-origin': 3 };
  const stored = (await getStorage(page, progressKey(base))) as { chapters: Record<string, Record<string, unknown>> };
  const withSteps = (s: Record<string, number>) => ({ ...stored, chapters: { ...stored.chapters, '05-cdn': { ...stored.chapters['05-cdn'], steps: s } } });
  await setStorage(page, { [progressKey(base)]: withSteps(steps) });
  await page.reload();
  await expect(mark(page, '05-cdn')).toHaveAttribute('data-state', 'in-progress');
  await setStorage(page, { [progressKey(base)]: withSteps({ ...steps, 'deploy-and-roll-back': 4 }) });
  await page.reload();
  await expect(mark(page, '05-cdn')).toHaveAttribute('data-state', 'done');
  await expect(mark(page, '05-cdn').locator('.sr-only')).toHaveText(', done');

  await page.goto('progress/');
  const row = page.locator('tr[data-chapter="05-cdn"]');
  await expect(row.locator('[data-col="read"]')).toContainText('Yes');
  await expect(row.locator('[data-col="lab"]')).toHaveText('4 of 4');
  await expect(row.locator('[data-col="quiz"]')).toContainText(`${total - 1} of ${total}`);
  await expect(row.locator('[data-col="state"]')).toHaveText('Done');
  await expect(page.locator('[data-summary]')).toContainText('1 of 7 chapters done');
});

/** Progress and lab edits for the transfer tests. */
function work(savedAt: number, quizScore: number) {
  return {
    progress: { format: 1, reader: 'Ada', chapters: { '00-one-server': { read: 1000, quiz: { score: quizScore, total: 9, at: savedAt } }, '01-clones': { steps: { 'round-robin': 2000 } } } },
    lab: { format: 1, lab: '01-clones', starterVersion: 'v1', starter: {}, files: { 'balancer.ts': { text: `// saved at ${savedAt}\n`, savedAt } } },
  };
}

async function exportFile(page: Page): Promise<string> {
  const download = page.waitForEvent('download');
  await page.getByTestId('progress-export').click();
  const path = await (await download).path();
  return readFileSync(path, 'utf8');
}

test('export, clear storage, import: progress and lab edits are back', async ({ page }) => {
  await fresh(page, 'progress/');
  const base = await basePath(page);
  const { progress, lab } = work(5000, 7);
  await setStorage(page, { [progressKey(base)]: progress, [labEditsKey(base, '01-clones')]: lab });
  await page.reload();
  await expect(page.locator('tr[data-chapter="00-one-server"] [data-col="quiz"]')).toContainText('7 of 9');
  const text = await exportFile(page);
  const file = JSON.parse(text) as Record<string, unknown>;
  expect(file).toMatchObject({ format: 'scale-lab-export', version: 1, reader: 'Ada', progress, labEdits: { '01-clones': lab } });

  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await expect(page.locator('tr[data-chapter="00-one-server"] [data-col="quiz"]')).toHaveText('Not taken');
  await page.getByTestId('progress-import').setInputFiles({ name: 'ada.json', mimeType: 'application/json', buffer: Buffer.from(text) });
  await expect(page.getByTestId('progress-report')).toContainText('Imported ada.json');
  await expect(page.getByTestId('progress-report')).toContainText('quiz best 7 of 9');
  await expect(page.locator('tr[data-chapter="00-one-server"] [data-col="quiz"]')).toContainText('7 of 9');
  await expect(page.locator('tr[data-chapter="01-clones"] [data-col="lab"]')).toHaveText('1 of 4');
  expect(await seriousViolations(page)).toEqual([]);
  expect(await getStorage(page, progressKey(base))).toEqual(progress);
  expect(await getStorage(page, labEditsKey(base, '01-clones'))).toEqual(lab);
});

test('importing an older export over newer work keeps the newer work, and says so', async ({ page }) => {
  await fresh(page, 'progress/');
  const base = await basePath(page);
  const older = work(5000, 6);
  await setStorage(page, { [progressKey(base)]: older.progress, [labEditsKey(base, '01-clones')]: older.lab });
  await page.reload();
  const oldText = await exportFile(page);

  const newer = work(9000, 8);
  await setStorage(page, { [progressKey(base)]: newer.progress, [labEditsKey(base, '01-clones')]: newer.lab });
  await page.reload();
  await page.getByTestId('progress-import').setInputFiles({ name: 'old.json', mimeType: 'application/json', buffer: Buffer.from(oldText) });
  const report = page.getByTestId('progress-report');
  await expect(report).toContainText('nothing in it was newer');
  await expect(report).toContainText('Newer or better work in this browser, kept');
  await expect(report).toContainText('your balancer.ts');
  await expect(report).toContainText('your quiz best 8 of 9');
  expect(await getStorage(page, labEditsKey(base, '01-clones'))).toEqual(newer.lab);
  expect(await getStorage(page, progressKey(base))).toEqual(newer.progress);

  // A file that is not an export is refused, and nothing changes.
  await page.getByTestId('progress-import').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello":1}') });
  await expect(report).toContainText('notes.json was not imported: it is not a Scale Lab progress export');
  expect(await getStorage(page, progressKey(base))).toEqual(newer.progress);
});

test('garbage in storage: the site still works, the value is set aside, and a notice says so', async ({ page }) => {
  await fresh(page, 'chapters/00-one-server/');
  const base = await basePath(page);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await setStorage(page, { [progressKey(base)]: '{"format":1,"chapters":' });
  await page.reload();
  const notice = page.getByTestId('progress-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText('set aside');
  expect(await seriousViolations(page)).toEqual([]);
  const kept = await page.evaluate((key) => Object.keys(localStorage).filter((k) => k.startsWith(`${key}:set-aside:`)).map((k) => localStorage.getItem(k)), progressKey(base));
  expect(kept).toEqual(['{"format":1,"chapters":']);
  // The page works: the quiz records a score, the sidebar marks it, and the next page has no notice.
  const { quiz, total } = await answerQuiz(page, '00-one-server');
  await expect(quiz.getByTestId('quiz-score')).toContainText(`You got ${total} of ${total}`);
  await expect(mark(page, '00-one-server')).not.toHaveAttribute('data-state', 'not-started');
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  await expect(notice).toBeHidden();
  await page.goto('progress/');
  await expect(page.locator('tr[data-chapter="00-one-server"] [data-col="quiz"]')).toContainText(`${total} of ${total}`);
  await expect(page.getByTestId('progress-notice')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('team view: three exports make three rows, sortable, and a CSV', async ({ page }) => {
  await page.goto('team/');
  const exportOf = (reader: string, score: number) =>
    Buffer.from(
      JSON.stringify({
        format: 'scale-lab-export',
        version: 1,
        exportedAt: '2025-03-01T10:00:00.000Z',
        reader,
        progress: { format: 1, chapters: { '00-one-server': { read: 1, quiz: { score, total: 9, at: 1 } } } },
        labEdits: {},
      }),
    );
  await page.getByTestId('team-import').setInputFiles([
    { name: 'bo.json', mimeType: 'application/json', buffer: exportOf('Bo', 9) },
    { name: 'ada.json', mimeType: 'application/json', buffer: exportOf('Ada', 3) },
    { name: 'cy.json', mimeType: 'application/json', buffer: exportOf('Cy', 6) },
  ]);
  const rows = page.getByTestId('team-row');
  await expect(rows).toHaveCount(3);
  await expect(page.getByTestId('team-status')).toContainText('3 readers in the table');
  await expect(rows.locator('th')).toContainText(['Ada', 'Bo', 'Cy']);

  const table = page.getByTestId('team-table');
  await table.getByRole('button', { name: 'From one server' }).click();
  await expect(table.locator('th[aria-sort]')).toHaveAttribute('aria-sort', 'descending');
  await expect(rows.locator('th')).toContainText(['Bo', 'Cy', 'Ada']);
  await table.getByRole('button', { name: 'From one server' }).click();
  await expect(table.locator('th[aria-sort]')).toHaveAttribute('aria-sort', 'ascending');
  await expect(rows.locator('th')).toContainText(['Ada', 'Cy', 'Bo']);
  expect(await seriousViolations(page)).toEqual([]);

  const download = page.waitForEvent('download');
  await page.getByTestId('team-csv').click();
  const csv = readFileSync(await (await download).path(), 'utf8').trim().split(/\r\n/);
  expect(csv).toHaveLength(4);
  expect(csv[1]).toMatch(/^Ada,ada\.json,/);
});
