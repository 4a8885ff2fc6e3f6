import { expect, test, type Page } from '@playwright/test';
import type { LabResult } from '../../labs/harness/results.ts';

/** The lab page driven through a fake runtime (src/test-pages/lab-view.astro): page logic only. */
const PAGE = 'e2e/lab-view/';

async function open(page: Page) {
  await page.goto(PAGE);
  await expect(page.getByTestId('lab')).toHaveAttribute('data-ready', 'true');
  return page.getByTestId('lab');
}

async function script(page: Page, next: { result?: LabResult; error?: string; lines?: number }) {
  await page.evaluate((n) => ((window as unknown as { __fake: { next: unknown } }).__fake.next = n), next);
}

const failing = (message: string): LabResult => ({
  lab: '01-clones',
  steps: [
    { id: 'round-robin', passed: true, tests: [{ name: 'a', passed: true }] },
    { id: 'health-checks', passed: false, tests: [{ name: 'no request fails when a server dies', passed: false, message }] },
    { id: 'stateless', passed: false, tests: [], error: 'balancer.ts:3 uses Date.now(). Use ctx.now() instead.' },
    { id: 'least-connections', passed: true, tests: [{ name: 'b', passed: true }] },
  ],
});

test.beforeEach(async ({ page }) => {
  await page.goto(PAGE);
  await page.evaluate(() => localStorage.clear());
});

test('verdicts from the runtime become step states, messages, file links and an announcement', async ({ page }) => {
  const lab = await open(page);
  await script(page, { result: failing('3 of 30 requests failed: see balancer.ts:12') });
  await lab.getByTestId('lab-run').click();
  await expect(lab.locator('[data-step="round-robin"]')).toHaveAttribute('data-status', 'passed');
  await expect(lab.locator('[data-step="health-checks"]')).toHaveAttribute('data-status', 'failed');
  await expect(lab.locator('[data-step="health-checks"] .lab-failure-message')).toHaveText('3 of 30 requests failed: see balancer.ts:12');
  await expect(lab.locator('[data-step="stateless"] .lab-failure-message')).toContainText('uses Date.now()');
  await expect(lab.getByTestId('lab-announce')).toHaveText('2 of 4 steps passed. Failed: Health checks and retries, Stateless servers.');
  await expect(lab.getByTestId('lab-output')).toHaveText('hello from the fake runtime');
  await lab.getByRole('button', { name: 'Go to balancer.ts:12' }).click();
  expect(await page.evaluate(() => (window as unknown as { __fake: { revealed: string[] } }).__fake.revealed)).toEqual(['balancer.ts:12']);
});

test('"Run this step" asks the runtime for that step only, with the current files', async ({ page }) => {
  const lab = await open(page);
  await script(page, { result: { lab: '01-clones', steps: [{ id: 'stateless', passed: true, tests: [{ name: 'x', passed: true }] }] } });
  await lab.locator('textarea[data-file="app.ts"]').evaluate((el: HTMLTextAreaElement) => {
    el.value = '// edited';
    el.dispatchEvent(new Event('input'));
  });
  await lab.locator('[data-step="stateless"]').getByTestId('lab-run-step').click();
  await expect(lab.locator('[data-step="stateless"]')).toHaveAttribute('data-status', 'passed');
  await expect(lab.locator('[data-step="round-robin"]')).toHaveAttribute('data-status', 'idle');
  const runs = await page.evaluate(() => (window as unknown as { __fake: { runs: { steps?: string[]; files: Record<string, string> }[] } }).__fake.runs);
  expect(runs.at(-1)!.steps).toEqual(['stateless']);
  expect(runs.at(-1)!.files['app.ts']).toBe('// edited');
});

test('a runtime error is shown as an alert, steps go back to not run, and the next run works', async ({ page }) => {
  const lab = await open(page);
  await script(page, { error: 'Your code did not finish: the tests were stopped after 4 s without any progress.' });
  await lab.getByTestId('lab-run').click();
  await expect(lab.getByTestId('lab-error')).toHaveText(/did not finish/);
  await expect(lab.getByTestId('lab-error')).toHaveAttribute('role', 'alert');
  await expect(lab.locator('[data-testid="lab-step"][data-status="idle"]')).toHaveCount(4);
  await script(page, { result: failing('x') });
  await lab.getByTestId('lab-run').click();
  await expect(lab.getByTestId('lab-error')).toBeHidden();
  await expect(lab.locator('[data-step="round-robin"]')).toHaveAttribute('data-status', 'passed');
});

test('hints come one at a time, and the button goes when none are left', async ({ page }) => {
  const lab = await open(page);
  const step = lab.locator('[data-step="round-robin"]');
  await step.getByRole('button', { name: 'Show a hint (1 of 3)' }).click();
  await expect(step.locator('.lab-hints li')).toHaveCount(1);
  await step.getByRole('button', { name: 'Show a hint (2 of 3)' }).click();
  await step.getByRole('button', { name: 'Show a hint (3 of 3)' }).click();
  await expect(step.locator('.lab-hints li')).toHaveCount(3);
  await expect(step.getByRole('button', { name: /Show a hint/ })).toHaveCount(0);
});

test('edits are autosaved; a changed starter is announced with its diff and the edits kept', async ({ page }) => {
  let lab = await open(page);
  await lab.locator('textarea[data-file="balancer.ts"]').evaluate((el: HTMLTextAreaElement) => {
    el.value = '// mine';
    el.dispatchEvent(new Event('input'));
  });
  // Pretend the edits were made on an older starter.
  await page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.includes(':lab-edits:01-clones'))!;
    const saved = JSON.parse(localStorage.getItem(key)!);
    saved.starterVersion = 'older';
    saved.starter['balancer.ts'] = '// the old starter';
    localStorage.setItem(key, JSON.stringify(saved));
  });
  lab = await open(page);
  await expect(lab.locator('textarea[data-file="balancer.ts"]')).toHaveValue('// mine');
  const notice = lab.getByTestId('lab-starter-changed');
  await expect(notice).toContainText('balancer.ts');
  await notice.getByRole('button', { name: 'Show what changed' }).click();
  await expect(lab.locator('.lab-diff')).toBeVisible();
  await notice.getByRole('button', { name: 'Got it' }).click();
  lab = await open(page);
  await expect(lab.getByTestId('lab-starter-changed')).toHaveCount(0);
  await expect(lab.locator('textarea[data-file="balancer.ts"]')).toHaveValue('// mine');
});

test('Reset asks first; confirmed, it restores the starter and forgets the edits', async ({ page }) => {
  let lab = await open(page);
  const area = lab.locator('textarea[data-file="balancer.ts"]');
  await area.evaluate((el: HTMLTextAreaElement) => {
    el.value = '// mine';
    el.dispatchEvent(new Event('input'));
  });
  page.once('dialog', (d) => void d.dismiss());
  await lab.getByTestId('lab-reset').click();
  await expect(area).toHaveValue('// mine');
  page.once('dialog', (d) => void d.accept());
  await lab.getByTestId('lab-reset').click();
  await expect(area).toHaveValue(/The load balancer/);
  lab = await open(page);
  await expect(lab.locator('textarea[data-file="balancer.ts"]')).toHaveValue(/The load balancer/);
});

test('Reveal solution shows the diff, and applying it replaces the editable files', async ({ page }) => {
  const lab = await open(page);
  await lab.getByTestId('lab-reveal').click();
  await expect(lab.locator('.lab-diff')).toBeVisible();
  await lab.getByTestId('lab-apply-solution').click();
  await expect(lab.locator('.lab-diff')).toBeHidden();
  const solution = await page.evaluate(() => (window as unknown as { __bundle: { solution: Record<string, string> } }).__bundle.solution);
  for (const [file, text] of Object.entries(solution)) await expect(lab.locator(`textarea[data-file="${file}"]`)).toHaveValue(text);
});

test('with real ports, the cluster starts with a preview of its entry node and its output, and stops', async ({ page }) => {
  await page.goto(`${PAGE}?ports`);
  const lab = page.getByTestId('lab');
  await expect(lab).toHaveAttribute('data-ready', 'true');
  await lab.getByTestId('lab-cluster-start').click();
  await expect(lab.getByTestId('lab-cluster-preview')).toBeVisible();
  await expect(lab.getByTestId('lab-cluster-preview')).toHaveAttribute('title', 'Preview of lb');
  await expect(lab.getByTestId('lab-output')).toHaveText('lb listening on port 3000');
  await expect(lab.getByTestId('lab-cluster-start')).toHaveText('Stop the cluster');
  await lab.getByTestId('lab-cluster-start').click();
  await expect(lab.getByTestId('lab-cluster-preview')).toHaveCount(0);
  await expect(lab.getByTestId('lab-cluster-start')).toHaveText('Start the cluster');
});

test('without real ports (the Worker), the cluster button is hidden', async ({ page }) => {
  const lab = await open(page);
  await expect(lab.getByTestId('lab-cluster-start')).toBeHidden();
});

test('a new site version that leaves the starter as it was raises no notice', async ({ page }) => {
  let lab = await open(page);
  await lab.locator('textarea[data-file="balancer.ts"]').evaluate((el: HTMLTextAreaElement) => {
    el.value = '// mine';
    el.dispatchEvent(new Event('input'));
  });
  // Only the version moved (say, a test or a hint changed); the starter files are the same.
  await page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.includes(':lab-edits:01-clones'))!;
    const saved = JSON.parse(localStorage.getItem(key)!);
    saved.starterVersion = 'older';
    localStorage.setItem(key, JSON.stringify(saved));
  });
  lab = await open(page);
  await expect(lab.locator('textarea[data-file="balancer.ts"]')).toHaveValue('// mine');
  await expect(lab.getByTestId('lab-starter-changed')).toHaveCount(0);
});

test('a runtime that starts in the background is announced in one sentence and takes over from the next run', async ({ page }) => {
  await page.goto(`${PAGE}?upgrade`);
  const lab = page.getByTestId('lab');
  await expect(lab).toHaveAttribute('data-ready', 'true');
  await expect(lab).toHaveAttribute('data-runtime', 'worker');
  await expect(lab.getByTestId('lab-cluster-start')).toBeHidden();
  await lab.locator('textarea[data-file="app.ts"]').evaluate((el: HTMLTextAreaElement) => {
    el.value = '// typed before the switch';
    el.dispatchEvent(new Event('input'));
  });
  await page.evaluate(() => (window as unknown as { __upgrade: () => void }).__upgrade());
  await expect(lab.getByTestId('lab-runtime-ready')).toHaveText('The background runtime has started: your next run uses it.');
  await expect(lab).toHaveAttribute('data-runtime', 'worker');
  await script(page, { result: failing('x') });
  await lab.getByTestId('lab-run').click();
  await expect(lab.locator('[data-step="round-robin"]')).toHaveAttribute('data-status', 'passed');
  await expect(lab).toHaveAttribute('data-runtime', 'webcontainer');
  await expect(lab.getByTestId('lab-runtime')).toHaveText('Runs on Node in your browser (WebContainer)');
  await expect(lab.getByTestId('lab-cluster-start')).toBeVisible();
  const runs = await page.evaluate(() => (window as unknown as { __fake: { runs: { files: Record<string, string> }[] } }).__fake.runs);
  expect(runs.at(-1)!.files['app.ts']).toBe('// typed before the switch');
});

test('console output reaches the page in batches, not one change per line, and keeps the last 2,000 lines', async ({ page }) => {
  const lab = await open(page);
  const passing = { lab: '01-clones', steps: [{ id: 'round-robin', passed: true, tests: [{ name: 'a', passed: true }] }] };
  await script(page, { result: passing, lines: 1000 });
  // Every change to the console pane during the run, counted as the page sees them.
  await page.evaluate(() => {
    const w = window as unknown as { __changes: number };
    w.__changes = 0;
    new MutationObserver((records) => (w.__changes += records.length)).observe(document.querySelector('[data-testid="lab-output"]')!, { childList: true, subtree: true, characterData: true });
  });
  await lab.getByTestId('lab-run').click();
  await expect(lab.locator('[data-step="round-robin"]')).toHaveAttribute('data-status', 'passed');
  const output = lab.getByTestId('lab-output');
  await expect(output).toContainText('line 1000');
  const text = await output.textContent();
  expect(text!.split('\n').filter(Boolean)).toHaveLength(1001);
  await expect(output.locator('.lab-output-error')).toHaveCount(100);
  // One clear, then at most a couple of batches; never a change per line.
  expect(await page.evaluate(() => (window as unknown as { __changes: number }).__changes)).toBeLessThanOrEqual(4);

  await script(page, { result: passing, lines: 2500 });
  await lab.getByTestId('lab-run').click();
  await expect(output).toContainText('line 2500');
  await expect(output).toContainText('… 501 earlier lines not shown');
  const kept = (await output.textContent())!.split('\n').filter(Boolean);
  expect(kept.slice(0, 2)).toEqual(['… 501 earlier lines not shown', 'line 501']);
  expect(kept).toHaveLength(2001);
});
