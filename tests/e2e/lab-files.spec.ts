import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { openLabOnWorker, runAndWait } from '../support/lab-page.ts';

/**
 * Take your files with you: "Download files" gives a zip that plain Node grades once unzipped (the
 * starter fails, the solution passes), and "Upload files" brings edited files back, showing what
 * changes before anything does, and refusing in plain words what cannot be the lab's.
 */
const LAB = '01-clones';
const labDir = new URL(`../../labs/${LAB}/`, import.meta.url);
const editable = (JSON.parse(readFileSync(new URL('lab.json', labDir), 'utf8')) as { editable: string[] }).editable;
const solution = (file: string) => readFileSync(new URL(`solution/${file}`, labDir), 'utf8');
const solved = editable.filter((f) => { try { solution(f); return true; } catch { return false; } });

/** The machine's own Node when it is 20 or later (no project, nothing installed), else the one running the tests. */
const plainNode = (() => {
  const found = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
  return found.status === 0 && Number(/^v(\d+)/.exec(found.stdout)?.[1]) >= 20 ? '/usr/bin/node' : process.execPath;
})();

let work: string;
test.beforeAll(() => void (work = mkdtempSync(join(tmpdir(), 'scale-lab-download-'))));
test.afterAll(() => rmSync(work, { recursive: true, force: true }));

async function openClones(page: Page): Promise<Locator> {
  await page.goto(`chapters/${LAB}/?runtime=worker`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  const root = page.locator(`[data-testid="lab"][data-lab="${LAB}"]`);
  await openLabOnWorker(root);
  return root;
}

async function download(page: Page, root: Locator, into: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), root.getByTestId('lab-download').click()]);
  expect(file.suggestedFilename()).toBe(`${LAB}.zip`);
  const zip = readFileSync(await file.path());
  for (const [path, bytes] of Object.entries(unzipSync(new Uint8Array(zip)))) {
    mkdirSync(dirname(join(into, path)), { recursive: true });
    writeFileSync(join(into, path), bytes);
  }
  await expect(root.getByTestId('lab-download-done')).toContainText(`npm run lab -- clones --files ${LAB}/lab`);
  return join(into, LAB);
}

const grade = (dir: string) => spawnSync(plainNode, ['run-tests.mjs'], { cwd: dir, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 60_000 });

test('download: plain Node grades the unzipped folder, the starter failing and the solution passing', async ({ page }) => {
  const root = await openClones(page);
  const dir = await download(page, root, join(work, 'first'));
  const starter = grade(dir);
  expect(starter.stdout).toContain('0 of 4 steps passed.');
  expect(starter.status).toBe(1);
  for (const f of solved) writeFileSync(join(dir, 'lab', f), solution(f));
  const passing = grade(dir);
  expect(passing.stdout, passing.stderr).toContain('4 of 4 steps passed.');
  expect(passing.status).toBe(0);
});

test('upload: the edited zip comes back after the reader has seen what changes, and stays after a reload', async ({ page }) => {
  const root = await openClones(page);
  const dir = await download(page, root, join(work, 'round-trip'));
  for (const f of solved) writeFileSync(join(dir, 'lab', f), solution(f));
  const zip = zipSync(Object.fromEntries(solved.map((f) => [`${LAB}/lab/${f}`, strToU8(solution(f))])));

  await root.getByTestId('lab-upload-input').setInputFiles({ name: `${LAB}.zip`, mimeType: 'application/zip', buffer: Buffer.from(zip) });
  const review = root.getByTestId('lab-upload-review');
  for (const f of solved) await expect(review.locator(`li[data-file="${f}"]`)).toContainText(/lines? removed, \d+ lines? added/);
  // Nothing has changed yet: Cancel keeps the starter.
  await review.getByRole('button', { name: 'Cancel' }).click();
  await expect(review).toHaveCount(0);
  await runAndWait(root);
  await expect(root.locator('[data-testid="lab-step"][data-status="passed"]')).toHaveCount(0);

  await root.getByTestId('lab-upload-input').setInputFiles({ name: `${LAB}.zip`, mimeType: 'application/zip', buffer: Buffer.from(zip) });
  await root.getByTestId('lab-upload-apply').click();
  await expect(root.getByTestId('lab-announce')).toContainText(`Replaced ${solved.join(', ')}`);
  await runAndWait(root);
  await expect(root.locator('[data-testid="lab-step"][data-status="passed"]')).toHaveCount(4);

  // Saved as any edit is: after a reload (which reopens the lab, the address ending in #lab) the uploaded files are the reader's.
  await page.reload();
  await expect(root).toHaveAttribute('data-runtime', 'worker', { timeout: 30_000 });
  await runAndWait(root);
  await expect(root.locator('[data-testid="lab-step"][data-status="passed"]')).toHaveCount(4);
});

test('upload: names and contents that cannot be the lab’s are refused in plain words, and nothing changes', async ({ page }) => {
  const root = await openClones(page);
  const input = root.getByTestId('lab-upload-input');
  await input.setInputFiles({ name: 'notes.ts', mimeType: 'text/plain', buffer: Buffer.from('x') });
  const problem = root.getByTestId('lab-upload-problem');
  await expect(problem).toContainText(`notes.ts is not a file of this lab (its files: ${editable.join(', ')}).`);
  await input.setInputFiles({ name: 'work.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip') });
  await expect(problem).toContainText('work.zip is not a zip file this page can read.');
  await input.setInputFiles({ name: editable[0]!, mimeType: 'text/plain', buffer: Buffer.alloc(200_001, 'a') });
  await expect(problem).toContainText(`${editable[0]} is 201 KB, more than a lab file can be (200 KB).`);
  await expect(root.getByTestId('lab-upload-review')).toHaveCount(0);
  // The same file as the reader's: nothing to change.
  await input.setInputFiles({ name: editable[1]!, mimeType: 'text/plain', buffer: readFileSync(new URL(`starter/${editable[1]}`, labDir)) });
  await expect(root.getByTestId('lab-upload-review')).toContainText('Nothing to change');
  await expect(problem).toHaveCount(0);
});
