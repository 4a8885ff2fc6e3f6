import { readFileSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { openFreshLab as openLab, runAndWait, watchLongTasks } from '../support/lab-page.ts';

/**
 * "What happened" in a failed test, on the Worker runtime: the replay of a failed step of the
 * starter, its evidence marked (in words and shape, not only colour), scrubbing with the slider and
 * the keyboard, the picture at that instant, saving to a file and opening it again (and refusing a
 * file that is not a replay, in plain words), axe with the replay open, and nothing loaded before.
 */
test.use({ viewport: { width: 1400, height: 900 } });

const FIRST_TEST = '300 requests through the balancer give each app server 100';

/** The failure of `test` in `step`, once the run has shown it. */
function failure(root: Locator, step: string, name: string): Locator {
  return root.locator(`[data-testid="lab-step"][data-step="${step}"] .lab-failure`).filter({ has: root.page().locator('.lab-failure-name', { hasText: name }) });
}

async function openReplay(page: Page, root: Locator, step: string, name: string): Promise<Locator> {
  await failure(root, step, name).getByTestId('lab-replay-open').click();
  const replay = root.getByTestId('replay');
  await expect(replay).toBeVisible();
  await expect(replay.getByRole('heading', { name: `What happened: ${name}` })).toBeFocused();
  return replay;
}

test('Clones starter: the failed round-robin test replays with the requests its assertion counted marked; scrub, save and open again', async ({ page }) => {
  test.setTimeout(120_000);
  const root = await openLab(page, '01-clones');
  const scripts: string[] = [];
  page.on('response', (r) => scripts.push(new URL(r.url()).pathname));
  await runAndWait(root);
  // Nothing of the replay view loaded with the run.
  expect(scripts.some((s) => /replay-view/.test(s))).toBe(false);

  // From the first "What happened" to the end of the test.
  const longest = await watchLongTasks(page);
  const replay = await openReplay(page, root, 'round-robin', FIRST_TEST);
  expect(scripts.some((s) => /replay-view/.test(s))).toBe(true);

  // The evidence, in words: the balancer's requests, every one of them to app-1.
  await expect(replay.getByTestId('replay-evidence')).toContainText('the requests the balancer passed on, and which server got each');
  const marked = replay.locator('[data-testid="replay-diagram"] .rp-row.rp-evidence');
  expect(await marked.count()).toBeGreaterThan(0);
  // Marked by shape and words as well as colour: a thicker line with a diamond, and "◆ evidence".
  await expect(marked.first().locator('.rp-msg-ev')).toHaveCount(1);
  await expect(marked.first().locator('.rp-diamond')).toHaveCount(1);
  await expect(marked.first()).toContainText('◆ evidence 1');
  const evidenceItems = replay.locator('[data-testid="replay-list"] li[data-evidence]');
  expect(await evidenceItems.count()).toBe(await marked.count());
  await expect(evidenceItems.first()).toContainText('lb → app-1: GET /');
  await expect(evidenceItems.first()).toContainText('Evidence: the requests the balancer passed on');
  // It opens on the first evidence, and the picture at that instant shows app-1 busy.
  await expect(replay.locator('[data-testid="replay-list"] li[aria-current]')).toHaveAttribute('data-evidence', '0');
  await expect(replay.locator('[data-testid="picture-svg"] [data-node="app-1"]')).toContainText('req/s');

  // The 300 requests went one after another: the whole run, none of it cut, is one row repeated 300 times.
  await expect(replay.locator('[data-testid="replay-list"] li')).toHaveCount(1);
  await expect(evidenceItems.first()).toContainText('300 times');
  await expect(replay.locator('[data-testid="replay-diagram"] .rp-cut')).toHaveCount(0);

  // Scrub, in a replay of many rows (a server dies mid-run): the slider moves the current row, the list follows, and so does the time.
  await replay.getByTestId('replay-close').click();
  const other = await openReplay(page, root, 'health-checks', 'no request fails when a server dies');
  const slider = other.getByTestId('replay-slider');
  const rows = Number(await slider.getAttribute('max')) + 1;
  expect(rows).toBeGreaterThan(2);
  await slider.fill('0');
  await expect(other.locator('[data-testid="replay-list"] li[aria-current]')).toHaveAttribute('data-row', '0');
  await expect(other.getByTestId('replay-where')).toContainText(`row 1 of ${rows}`);
  await slider.fill(String(rows - 1));
  await expect(other.locator('[data-testid="replay-list"] li[aria-current]')).toHaveAttribute('data-row', String(rows - 1));
  await expect(other.locator(`[data-testid="replay-diagram"] [data-row="${rows - 1}"]`)).toHaveAttribute('aria-current', 'true');
  await other.getByTestId('replay-prev-evidence').click();
  await expect(other.locator('[data-testid="replay-list"] li[aria-current]')).toHaveAttribute('data-evidence', '0');

  expect(await longest(), 'no main-thread task over 200 ms while the replay opened and was scrubbed').toBeLessThanOrEqual(200);

  // Axe with the replay open (axe itself runs long tasks in the page: not counted).
  const axe = await new AxeBuilder({ page }).include('[data-testid="replay"]').analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  const longestAfterAxe = await watchLongTasks(page);
  await other.getByTestId('replay-close').click();
  await openReplay(page, root, 'round-robin', FIRST_TEST);

  // Save the replay, close it, and open the file again.
  const download = page.waitForEvent('download');
  await replay.getByTestId('replay-save').click();
  const saved = await download;
  expect(saved.suggestedFilename()).toMatch(/^replay-01-clones-round-robin-300-requests.*\.json$/);
  const path = await saved.path();
  const text = readFileSync(path, 'utf8');
  expect(JSON.parse(text)).toMatchObject({ format: 'scale-lab-replay', version: 2, lab: '01-clones', step: { id: 'round-robin' }, replay: { test: FIRST_TEST } });
  await replay.getByTestId('replay-close').click();
  await expect(root.getByTestId('lab-replay')).toBeHidden();
  await expect(failure(root, 'round-robin', FIRST_TEST).getByTestId('lab-replay-open')).toBeFocused();

  await root.getByTestId('lab-replay-input').setInputFiles(path);
  const reopened = root.getByTestId('replay');
  await expect(reopened.getByRole('heading', { name: `What happened: ${FIRST_TEST}` })).toBeVisible();
  expect(await reopened.locator('[data-testid="replay-diagram"] .rp-row.rp-evidence').count()).toBe(await marked.count());

  // A file that is not a replay is refused, in plain words, and the open replay stays.
  await root.getByTestId('lab-replay-input').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
  await expect(root.getByTestId('lab-error')).toContainText('This file is not a Scale Lab replay');
  await root.getByTestId('lab-replay-input').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from(text.replace('"kind":"call"', '"kind":"teleport"')) });
  await expect(root.getByTestId('lab-error')).toContainText('This replay is damaged and cannot be shown');
  await expect(root.getByTestId('replay')).toBeVisible();

  expect(await longestAfterAxe(), 'no main-thread task over 200 ms while the replay was saved and opened again').toBeLessThanOrEqual(200);
});

test('keyboard only: open a replay, move through it with the arrow keys, jump to the evidence, close it', async ({ page }) => {
  test.setTimeout(120_000);
  const root = await openLab(page, '01-clones');
  await runAndWait(root);
  const button = failure(root, 'health-checks', 'no request fails when a server dies').getByTestId('lab-replay-open');
  await button.focus();
  await page.keyboard.press('Enter');
  const replay = root.getByTestId('replay');
  await expect(replay.getByRole('heading', { name: /What happened: no request fails when a server dies/ })).toBeFocused();
  await expect(replay.getByTestId('replay-evidence')).toContainText('requests that got no 200 answer');
  const current = replay.locator('[data-testid="replay-list"] li[aria-current]');
  // Tab to the slider (the first control) and move with the arrow keys.
  await page.keyboard.press('Tab');
  await expect(replay.getByTestId('replay-slider')).toBeFocused();
  await page.keyboard.press('Home');
  await expect(current).toHaveAttribute('data-row', '0');
  await page.keyboard.press('ArrowRight');
  await expect(current).toHaveAttribute('data-row', '1');
  // On to "Next evidence": the first failed request after the kill.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(replay.getByTestId('replay-next-evidence')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(current).toHaveAttribute('data-evidence', '0');
  await expect(current).toContainText('client → lb');
  // The list in words takes the arrow keys too.
  await replay.getByTestId('replay-list').focus();
  const before = Number(await current.getAttribute('data-row'));
  await page.keyboard.press('ArrowUp');
  await expect(current).toHaveAttribute('data-row', String(before - 1));
  await page.keyboard.press('End');
  await expect(current).toHaveAttribute('data-row', (await replay.getByTestId('replay-slider').getAttribute('max'))!);
  // Escape leaves the workspace in full-window mode only; the Close button is reached by keyboard.
  await replay.getByTestId('replay-close').focus();
  await page.keyboard.press('Enter');
  await expect(button).toBeFocused();
});

test('Caching starter: the stampede replays as a burst of database queries, each marked as evidence', async ({ page }) => {
  test.setTimeout(120_000);
  const root = await openLab(page, '03-caching');
  await runAndWait(root);
  const replay = await openReplay(page, root, 'stampede', '100 concurrent requests for one product on a cold cache cost 1 query');
  await expect(replay.getByTestId('replay-evidence')).toContainText('the database queries of the 100 concurrent misses — 100 messages');
  // The burst: the same query from app to db, a hundred times at one instant, drawn as one row.
  const burst = replay.locator('[data-testid="replay-list"] li[data-evidence]').filter({ hasText: /\d+ times: app → db: SELECT/ });
  await expect(burst.first()).toBeVisible();
  const times = Number(/(\d+) times/.exec((await burst.first().textContent()) ?? '')?.[1]);
  expect(times).toBeGreaterThanOrEqual(50);
  await expect(replay.locator('[data-testid="replay-diagram"] .rp-evidence .rp-note-ev').first()).toContainText(`× ${times}`);
});
