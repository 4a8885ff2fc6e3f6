/** What the e2e tests do with a chapter's lab, as a reader would. */
import { gzipSync } from 'node:zlib';
import { expect, type Locator, type Page, type Response } from '@playwright/test';

/** Presses "Open the lab here" and waits for the Worker runtime (pages opened with ?runtime=worker). */
export async function openLabOnWorker(root: Locator): Promise<void> {
  await root.getByTestId('lab-open').click();
  await expect(root).toHaveAttribute('data-runtime', 'worker', { timeout: 30_000 });
}

/** Opens a lab's chapter with nothing saved, then the lab on the Worker runtime, with its editor shown. */
export async function openFreshLab(page: Page, lab: string): Promise<Locator> {
  await page.goto(`chapters/${lab}/?runtime=worker`);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  const root = page.locator(`[data-testid="lab"][data-lab="${lab}"]`);
  await openLabOnWorker(root);
  await expect(root.locator('.monaco-editor').first()).toBeVisible();
  return root;
}

/** Replaces the text of the file shown in the editor, as a reader pasting code would. */
export async function replaceEditorText(page: Page, root: Locator, file: string, text: string): Promise<void> {
  await root.locator(`[role="tab"][data-file="${file}"]`).click();
  await root.locator('.lab-editor .view-lines').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

/** Starts recording the page's long main-thread tasks; returns a function that reads the longest so far, in ms. */
export async function watchLongTasks(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    const w = window as unknown as { __longestTask: number };
    w.__longestTask = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longestTask = Math.max(w.__longestTask, e.duration);
    }).observe({ type: 'longtask' });
  });
  return () => page.evaluate(() => (window as unknown as { __longestTask: number }).__longestTask);
}

/** Reveals the solution and applies it to the editable files. */
export async function applySolution(root: Locator): Promise<void> {
  await root.getByTestId('lab-reveal').click();
  await root.getByTestId('lab-apply-solution').click();
}

/** Presses Run tests and waits until no step is running any more. */
export async function runAndWait(root: Locator): Promise<void> {
  await root.getByTestId('lab-run').click();
  await expect(root.locator('[data-testid="lab-step"][data-status="running"]')).toHaveCount(0, { timeout: 30_000 });
  await expect(root.getByTestId('lab-run')).toBeEnabled();
}

export interface OpeningPhase {
  /** Since the click on "Open the lab here". */
  ms: number;
  /** Gzipped bytes of every response that arrived by then. */
  bytes: number;
}

export interface LabOpening {
  /** The editor takes keystrokes. */
  editable: OpeningPhase;
  /** A typo in a kit API (typed as soon as the editor is editable) is underlined with the kit's type in its message. */
  squiggle: OpeningPhase;
  /** Everything opening the lab loads (until the network is idle). */
  total: OpeningPhase;
}

/**
 * Opens a lab (page already on its chapter) and measures, in time and gzipped bytes, what a reader
 * waits for: an editable editor, the first squiggle that needs the kit's types, and the whole load.
 */
export async function measureLabOpening(page: Page, root: Locator): Promise<LabOpening> {
  const arrivals: { at: number; bytes: Promise<number> }[] = [];
  const onResponse = (response: Response) => arrivals.push({ at: Date.now(), bytes: response.body().then((b) => gzipSync(b).length, () => 0) });
  page.on('response', onResponse);
  const started = Date.now();
  const marks: Record<keyof LabOpening, number> = { editable: 0, squiggle: 0, total: 0 };
  // The moment the editor becomes editable, taken in the page (waiting from here would add polling delay).
  await page.evaluate(() => {
    new MutationObserver((_, observer) => {
      if (!document.querySelector('.lab-editor[data-editable="true"]')) return;
      (window as unknown as { __editableAt: number }).__editableAt = Date.now();
      observer.disconnect();
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-editable'] });
  });
  try {
    await root.getByTestId('lab-open').click();
    const editor = root.locator('.lab-editor[data-editable="true"]');
    await editor.waitFor({ timeout: 30_000 });
    marks.editable = await page.evaluate(() => (window as unknown as { __editableAt: number }).__editableAt);
    await root.locator('.lab-editor .view-lines').click();
    await page.keyboard.press('ControlOrMeta+End');
    await page.keyboard.insertText('\nexport const typo = (ctx: import("@scale-lab/kit").NodeContext) => ctx.forwrd;\n');
    // A plain wait, not expect(): the benchmark calls this outside the test runner.
    await page.waitForFunction(() => /'forwrd' does not exist on type 'NodeContext'/.test(document.querySelector('.lab-editor')?.getAttribute('data-problems') ?? ''), null, { timeout: 30_000 });
    marks.squiggle = Date.now();
    await page.waitForLoadState('networkidle');
  } finally {
    page.off('response', onResponse);
  }
  const sized = await Promise.all(arrivals.map(async (a) => ({ at: a.at, bytes: await a.bytes })));
  marks.total = Math.max(marks.squiggle, ...sized.map((a) => a.at));
  const phase = (until: number): OpeningPhase => ({ ms: until - started, bytes: sized.filter((a) => a.at <= until).reduce((n, a) => n + a.bytes, 0) });
  return { editable: phase(marks.editable), squiggle: phase(marks.squiggle), total: phase(marks.total) };
}
