/**
 * npm run test:graders [-- <lab>…] [--fixtures DIR]
 *
 * Proves every grader: for each lab, the solution passes every step, the starter fails every step
 * with a test failure (not a load error), and each mistake fixture (mistakes/<id>.json, edits to the
 * solution) fails the step it targets with a message that names it. A fixture whose edits do not
 * apply (a `find` that does not occur exactly once) fails loudly. No failure message may carry
 * matcher noise. Also checks that graded tests keep to the API every host runs.
 * --fixtures DIR adds fixtures kept elsewhere, in the same format: DIR/<lab>/<id>.json.
 * Prints "N passed, N failed" at the end; exit code 1 if any check failed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkGradedTestSource } from '../labs/harness/graded-api.ts';
import type { Mistake } from '../labs/harness/mistake.ts';
import type { LabResult } from '../labs/harness/results.ts';
import { MATCHER_NOISE } from '../labs/harness/runner/failure-text.ts';
import { allLabs, mistakeFiles, readMistakes, solutionFiles, starterFiles, type LabFolder } from './lab-runner/catalog.ts';
import { runLabInNode, stopRunsOnInterrupt } from './lab-runner/run-node.ts';

/** A path as the user typed it would read: relative inside the working folder, absolute outside. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel || '.';
}

let passed = 0;
let failed = 0;

function report(ok: boolean, what: string, details: string[] = []): void {
  if (ok) passed++;
  else failed++;
  process.stdout.write(`${ok ? '✓' : '✗'} ${what}\n${ok ? '' : details.map((d) => `    ${d.split('\n').join('\n    ')}\n`).join('')}`);
}

/** Every message of a result with matcher noise in it. */
function noisy(result: LabResult): string[] {
  return result.steps.flatMap((s) => [s.error ?? '', ...s.tests.map((t) => t.message ?? '')]).filter((m) => MATCHER_NOISE.test(m));
}

/** Runs go two at a time (each is a process of its own); results are still reported in order. */
const RUNS_AT_ONCE = Math.min(2, availableParallelism());
let running = 0;
const queued: (() => void)[] = [];

async function run(lab: LabFolder, files: Record<string, string>): Promise<LabResult> {
  while (running >= RUNS_AT_ONCE) await new Promise<void>((resolve) => queued.push(resolve));
  running++;
  try {
    return await runLabInNode(lab, files, { timeoutMs: 60_000 });
  } finally {
    running--;
    queued.shift()?.();
  }
}

const { values, positionals: only } = parseArgs({ allowPositionals: true, options: { fixtures: { type: 'string' } } });
const extraDir = values.fixtures === undefined ? undefined : resolve(values.fixtures);
if (extraDir !== undefined && !(existsSync(extraDir) && statSync(extraDir).isDirectory())) {
  process.stderr.write(`--fixtures ${values.fixtures}: no such folder.\n`);
  process.exit(2);
}

/** Starts a mistake's run at once; the returned function awaits it and reports. */
function checkMistake(lab: LabFolder, mistake: Mistake, shownAs: string): () => Promise<void> {
  const what = `${lab.name}: mistake "${mistake.mistake}" (${shownAs}) fails step ${mistake.step}, saying so`;
  let files: Record<string, string>;
  try {
    files = mistakeFiles(lab, mistake, shownAs);
  } catch (err) {
    return async () => report(false, what, [(err as Error).message]);
  }
  const running = run(lab, files);
  return async () => reportMistake(lab, mistake, shownAs, what, await running);
}

function reportMistake(lab: LabFolder, mistake: Mistake, shownAs: string, what: string, result: LabResult): void {
  // A fixture for step N must get past steps 1..N-1, or it proves nothing about step N's grader.
  const target = result.steps.findIndex((s) => s.id === mistake.step);
  const failedBefore = result.steps.slice(0, target).filter((s) => !s.passed);
  report(failedBefore.length === 0, `${lab.name}: ${shownAs} passes every step before ${mistake.step}`, failedBefore.map((s) => `${s.id}: ${s.error ?? s.tests.filter((t) => !t.passed).map((t) => t.message).join('\n')}`));
  const step = result.steps[target]!;
  const messages = step.tests.filter((t) => !t.passed).map((t) => t.message ?? '');
  const named = messages.some((m) => m.includes(mistake.message));
  report(!step.passed && named, what, [
    step.passed ? 'the step passed' : `no failure message contains "${mistake.message}"; messages:\n${messages.join('\n') || step.error}`,
  ]);
  const noise = noisy(result);
  if (noise.length) report(false, `${lab.name}: ${shownAs} reads without matcher noise`, noise);
}

stopRunsOnInterrupt();
let labsChecked = 0;
for (const lab of allLabs().filter((l) => only.length === 0 || only.some((o) => l.name.includes(o)))) {
  labsChecked++;
  const problems = lab.lab.steps.flatMap((s) => checkGradedTestSource(s.test, readFileSync(join(lab.dir, s.test), 'utf8')));
  report(problems.length === 0, `${lab.name}: graded tests keep to the shared test API`, problems);

  // Every run of the lab starts now (two at a time); the checks below wait for them in order.
  const solutionRun = run(lab, solutionFiles(lab));
  const starterRun = run(lab, starterFiles(lab));
  const mistakeChecks = lab.mistakes.map((mistake) => checkMistake(lab, mistake, `mistakes/${mistake.id}.json`));
  let extra: Mistake[] = [];
  const extraShown = extraDir === undefined ? '' : shown(join(extraDir, lab.name));
  if (extraDir !== undefined) {
    try {
      extra = readMistakes(join(extraDir, lab.name), lab.lab, extraShown);
    } catch (err) {
      report(false, `${lab.name}: fixtures in ${extraShown}`, [(err as Error).message]);
    }
  }
  const extraChecks = extra.map((mistake) => checkMistake(lab, mistake, `${extraShown}/${mistake.id}.json`));

  const solution = await solutionRun;
  const notPassed = solution.steps.filter((s) => !s.passed);
  report(notPassed.length === 0, `${lab.name}: the solution passes every step`, notPassed.map((s) => `${s.id}: ${s.error ?? s.tests.filter((t) => !t.passed).map((t) => `${t.name}: ${t.message}`).join('\n')}`));

  const starter = await starterRun;
  const wrong = starter.steps.filter((s) => s.passed || s.error !== undefined || !s.tests.some((t) => !t.passed && t.message));
  report(wrong.length === 0, `${lab.name}: the starter fails every step with that step's own message`, wrong.map((s) => `${s.id}: ${s.passed ? 'passed' : `failed without a test message: ${s.error}`}`));
  const noise = noisy(starter);
  report(noise.length === 0, `${lab.name}: the starter's failure messages read without matcher noise`, noise);

  // Each fixture's phrase names its own mistake: no two share one, and none contains another's.
  const clashes = lab.mistakes.flatMap((a) => lab.mistakes.filter((b) => a !== b && b.message.includes(a.message)).map((b) => `"${a.message}" (${a.id}) is also in ${b.id}'s "${b.message}"`));
  report(clashes.length === 0, `${lab.name}: every fixture's message phrase is its own`, clashes);
  for (const check of [...mistakeChecks, ...extraChecks]) await check();
}
if (labsChecked === 0) report(false, `a lab named ${only.join(', ')}`, ['no such lab']);

process.stdout.write(`\ngraders: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
