/**
 * The browser Worker gives the verdicts the runner gives in Node. For every lab and every variant
 * (solution, starter, each mistake fixture), the graded tests run through the real WorkerRuntime
 * in Chromium (on the test page src/test-pages/worker-runtime.astro) and through the same
 * runGraded in this process; per step, passed flags, test names, messages and load errors must be
 * equal. Also: runaway code is stopped in time and the runtime recovers, and timings.
 *
 * Needs the lab assets in the built site: node scripts/build-lab-assets.ts && astro build.
 */
import { expect, test, type Page } from '@playwright/test';
import { allLabs, findLab, mistakeFiles, solutionFiles, starterFiles, type LabFolder } from '../../scripts/lab-runner/catalog.ts';
import { runLabInProcess } from '../../scripts/lab-runner/run-node.ts';
import type { LabResult } from '../../labs/harness/results.ts';

// ---- variants -----------------------------------------------------------------------------------

interface Variant {
  name: string;
  files: () => Record<string, string>;
}

function variantsOf(lab: LabFolder): Variant[] {
  return [
    { name: 'solution', files: () => solutionFiles(lab) },
    { name: 'starter', files: () => starterFiles(lab) },
    ...lab.mistakes.map((m) => ({ name: `mistake-${m.id}`, files: () => mistakeFiles(lab, m) })),
  ];
}

/** The solution with one file changed; the change must change something. */
function edited(lab: LabFolder, name: string, edit: { file: string; change: (text: string) => string }): Record<string, string> {
  const files = solutionFiles(lab);
  const after = edit.change(files[edit.file]!);
  if (after === files[edit.file]) throw new Error(`the edit of ${edit.file} for ${name} changed nothing`);
  return { ...files, [edit.file]: after };
}

// ---- the page -----------------------------------------------------------------------------------

type RunReply =
  | { ok: true; result: LabResult; ms: number; output: { stream: string; text: string }[]; streamed: string[] }
  | { ok: false; error: { name: string; message: string; reason?: string }; ms: number; output: { stream: string; text: string }[]; streamed: string[] };

async function openRuntimePage(page: Page): Promise<void> {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  await page.goto('e2e/worker-runtime/');
  await page.waitForFunction(() => '__runLab' in window, undefined, { timeout: 15_000 }).catch((err: Error) => {
    throw new Error(`the test page did not get ready (is the built site current? run the lab-assets build and astro build): ${problems.join('; ') || err.message}`);
  });
}

function runInPage(page: Page, lab: string, files: Record<string, string>, options: { steps?: string[]; abortAfterMs?: number } = {}): Promise<RunReply> {
  return page.evaluate(
    ([lab, files, options]) => (window as unknown as { __runLab(l: string, f: object, o: object): Promise<RunReply> }).__runLab(lab, files, options),
    [lab, files, options] as const,
  );
}

function passed(reply: RunReply): LabResult {
  if (!reply.ok) throw new Error(`the Worker run failed: ${reply.error.message}`);
  return reply.result;
}

// ---- comparing ----------------------------------------------------------------------------------

/** Per step: id, verdict, every test's name, verdict and message, and a load error whole. */
function comparable(result: LabResult): LabResult['steps'] {
  return result.steps.map((s) => ({ id: s.id, passed: s.passed, tests: s.tests, ...(s.error === undefined ? {} : { error: s.error }) }));
}

function summary(result: LabResult): string {
  return result.steps.map((s) => `${s.id}: ${s.passed ? 'passed' : s.error ? 'load error' : `${s.tests.filter((t) => !t.passed).length} failed`}`).join(', ');
}

const timeout = 90_000;

// ---- parity -------------------------------------------------------------------------------------

// One page per lab, as a reader runs the tests again and again: the Worker is warm after the first
// variant (a fresh page per variant spent 11 min of CI loading the kit, bundle and SQLite again), and
// a Worker that wore out after many runs would fail here (SQLite did, after 25, before its engine was
// shared: labs/harness/runner/shared-sql-engine.ts).
for (const lab of allLabs()) {
  const variants = variantsOf(lab);
  test(`${lab.name}: the Worker gives the Node verdicts on every variant (${variants.length})`, async ({ page }) => {
    test.setTimeout(30_000 + variants.length * 8_000);
    await openRuntimePage(page);
    const lines: string[] = [];
    for (const variant of variants) {
      const files = variant.files();
      // Node runs beside the browser: the two are independent.
      const inNode = runLabInProcess(lab, files);
      const inWorker = passed(await runInPage(page, lab.name, files));
      const node = await inNode;
      lines.push(`${variant.name}: node ${summary(node)} | worker ${summary(inWorker)}`);
      expect.soft(node.steps.length, `${variant.name}: Node ran every step`).toBe(lab.lab.steps.length);
      expect.soft(comparable(inWorker), `${variant.name}: the Worker's verdicts equal Node's`).toEqual(comparable(node));
      if (variant.name === 'solution') expect.soft(inWorker.steps.every((s) => s.passed), 'the solution passes in the Worker').toBe(true);
    }
    test.info().annotations.push({ type: 'verdicts', description: lines.join('\n') });
  });
}

test.describe('load errors read the same', () => {
  const clones = findLab('clones');
  /** `expected`: the start of the step's error, the same on both hosts. */
  const cases: { name: string; file: string; change: (text: string) => string; expected: RegExp }[] = [
    { name: 'wall-clock', file: 'balancer.ts', change: (t) => t.replace('let cursor = 0;', 'let cursor = 0;\n  const startedAt = Date.now();'), expected: /^balancer\.ts:\d+ uses Date\.now\(\)/ },
    { name: 'syntax-error', file: 'balancer.ts', change: (t) => t.replace('let cursor = 0;', 'let cursor = ;'), expected: /^balancer\.ts:\d+:\d+: / },
    { name: 'throw-on-load', file: 'app.ts', change: (t) => `throw new TypeError('refuses to load');\n${t}`, expected: /^app\.ts:1 threw an error while loading, before any test could run: TypeError: refuses to load$/ },
    // Node's own modules are outside the allow-list on every host, the CLI included.
    { name: 'node-builtin', file: 'balancer.ts', change: (t) => `import { readFileSync } from 'node:fs';\n${t}\nexport const read = readFileSync;`, expected: /^balancer\.ts imports "node:fs", which is not available here/ },
  ];
  for (const c of cases) {
    test(c.name, async ({ page }) => {
      test.setTimeout(timeout);
      const files = edited(clones, c.name, c);
      const inNode = runLabInProcess(clones, files, { steps: ['round-robin'] });
      await openRuntimePage(page);
      const inWorker = passed(await runInPage(page, clones.name, files, { steps: ['round-robin'] }));
      const node = await inNode;
      expect(inWorker.steps[0]!.error, 'a load error, with no tests').toBeTruthy();
      expect(inWorker.steps[0]!.tests).toEqual([]);
      expect(comparable(inWorker)).toEqual(comparable(node));
      expect(inWorker.steps[0]!.error).toMatch(c.expected);
    });
  }

  test('a wrong export name is named in every test of the step', async ({ page }) => {
    test.setTimeout(timeout);
    const files = edited(clones, 'wrong-export', { file: 'balancer.ts', change: (t) => t.replace('export function createBalancer', 'export function makeBalancer') });
    const inNode = runLabInProcess(clones, files, { steps: ['round-robin'] });
    await openRuntimePage(page);
    const inWorker = passed(await runInPage(page, clones.name, files, { steps: ['round-robin'] }));
    expect(comparable(inWorker)).toEqual(comparable(await inNode));
    expect(inWorker.steps[0]!.tests.length).toBeGreaterThan(0);
    for (const t of inWorker.steps[0]!.tests) expect(t.message).toContain('balancer.ts does not export createBalancer');
  });
});

// ---- runaway code, cancelling, output -----------------------------------------------------------

test.describe('the Worker runtime stops runaway code', () => {
  const clones = findLab('clones');
  const solution = () => solutionFiles(clones);

  test('while (true) {} in balancer.ts is stopped within 5 s, and the next run gives results', async ({ page }) => {
    test.setTimeout(timeout);
    const files = edited(clones, 'endless-loop', {
      file: 'balancer.ts',
      change: (t) => t.replace('return async (req) => {', 'return async (req) => {\n    while (true) {}'),
    });
    await openRuntimePage(page);
    const stopped = await runInPage(page, clones.name, files);
    expect(stopped.ok).toBe(false);
    if (stopped.ok) return;
    expect(stopped.error).toMatchObject({ name: 'RuntimeError', reason: 'timeout' });
    expect(stopped.error.message).toContain('Your code did not finish');
    expect(stopped.error.message).toContain('while (true)');
    expect(stopped.ms).toBeLessThan(5000);
    test.info().annotations.push({ type: 'stopped after', description: `${Math.round(stopped.ms)} ms` });

    const fixed = passed(await runInPage(page, clones.name, solution()));
    expect(fixed.steps.every((s) => s.passed)).toBe(true);
  });

  test('an endless loop while the files load is stopped too', async ({ page }) => {
    test.setTimeout(timeout);
    const files = edited(clones, 'endless-loop-on-load', { file: 'app.ts', change: (t) => `for (;;) {}\n${t}` });
    await openRuntimePage(page);
    const stopped = await runInPage(page, clones.name, files);
    expect(stopped.ok ? 'finished' : stopped.error.reason).toBe('timeout');
    expect(stopped.ms).toBeLessThan(5000);
    expect(passed(await runInPage(page, clones.name, solution())).steps.every((s) => s.passed)).toBe(true);
  });

  test('an AbortSignal cancels a run, and the runtime keeps working', async ({ page }) => {
    test.setTimeout(timeout);
    const files = edited(clones, 'endless-loop', {
      file: 'balancer.ts',
      change: (t) => t.replace('return async (req) => {', 'return async (req) => {\n    while (true) {}'),
    });
    await openRuntimePage(page);
    const cancelled = await runInPage(page, clones.name, files, { abortAfterMs: 300 });
    expect(cancelled.ok ? 'finished' : cancelled.error).toMatchObject({ name: 'RuntimeError', reason: 'aborted' });
    expect(cancelled.ms).toBeLessThan(1000);
    expect(passed(await runInPage(page, clones.name, solution())).steps.every((s) => s.passed)).toBe(true);
  });

  test("the reader's console output (with stacks naming the reader's file and line) and each step's result arrive as the run goes", async ({ page }) => {
    test.setTimeout(timeout);
    const files = edited(clones, 'console', {
      file: 'app.ts',
      change: (t) =>
        t.replace(
          "if (url.pathname === '/health')",
          "if (url.pathname === '/login') console.log('login on', ctx.name);\n    if (url.pathname === '/login') console.error(new Error('where am I').stack);\n    if (url.pathname === '/health')",
        ),
    });
    const line = files['app.ts']!.split('\n').findIndex((l) => l.includes('where am I')) + 1;
    await openRuntimePage(page);
    const reply = await runInPage(page, clones.name, files, { steps: ['stateless'] });
    expect(reply.ok).toBe(true);
    expect(reply.output).toContainEqual({ stream: 'log', text: 'login on app-1' });
    // One line per line of the stack, as a console shows it.
    const errors = reply.output.filter((l) => l.stream === 'error').map((l) => l.text);
    const at = errors.indexOf('Error: where am I');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(errors[at + 1]).toContain(`app.ts:${line}:`);
    expect(reply.streamed).toEqual(['stateless']);
  });
});

// ---- timings ------------------------------------------------------------------------------------

test('timings: Run → all results, cold and warm', async ({ page }) => {
  test.setTimeout(timeout);
  const lines: string[] = [];
  for (const lab of allLabs()) {
    const files = solutionFiles(lab);
    await openRuntimePage(page);
    // Cold: a fresh page, its Worker started in advance but kit.js, bundle and (SQLite) not yet loaded.
    const cold = await runInPage(page, lab.name, files);
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push((await runInPage(page, lab.name, files)).ms);
    warm.sort((a, b) => a - b);
    lines.push(`${lab.name}: cold ${Math.round(cold.ms)} ms, warm median ${Math.round(warm[2]!)} ms (min ${Math.round(warm[0]!)}, max ${Math.round(warm[4]!)})`);
  }
  test.info().annotations.push({ type: 'timings', description: lines.join('; ') });
  process.stdout.write(`${lines.join('\n')}\n`);
});
