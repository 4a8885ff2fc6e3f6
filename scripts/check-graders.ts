/**
 * Proves every grader: for each lab, the solution passes every step, the starter fails every step
 * with a test failure (not a load error), and each classic mistake fails the step it targets with a
 * message that names it. Also checks that graded tests keep to the API every substrate runs.
 * Prints "N passed, N failed" at the end; exit code 1 if any check failed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkGradedTestSource } from '../labs/harness/graded-api.ts';
import { allLabs, composeFiles, WORK_DIR, type LabFolder } from './lab-runner/catalog.ts';
import { runLabInNode } from './lab-runner/run-node.ts';

let passed = 0;
let failed = 0;

function report(ok: boolean, what: string, details: string[] = []): void {
  if (ok) passed++;
  else failed++;
  process.stdout.write(`${ok ? '✓' : '✗'} ${what}\n${ok ? '' : details.map((d) => `    ${d.split('\n').join('\n    ')}\n`).join('')}`);
}

async function run(lab: LabFolder, variant: string, overlays: string[]) {
  return runLabInNode(lab, composeFiles(lab, overlays, join(WORK_DIR, 'graders', lab.name, variant)), { timeoutMs: 120_000 });
}

const only = process.argv.slice(2);
for (const lab of allLabs().filter((l) => only.length === 0 || only.some((o) => l.name.includes(o)))) {
  const problems = lab.lab.steps.flatMap((s) => checkGradedTestSource(s.test, readFileSync(join(lab.dir, s.test), 'utf8')));
  report(problems.length === 0, `${lab.name}: graded tests keep to the shared test API`, problems);

  const solution = await run(lab, 'solution', [join(lab.dir, 'solution')]);
  const notPassed = solution.steps.filter((s) => !s.passed);
  report(notPassed.length === 0, `${lab.name}: the solution passes every step`, notPassed.map((s) => `${s.id}: ${s.error ?? s.tests.filter((t) => !t.passed).map((t) => `${t.name}: ${t.message}`).join('\n')}`));

  const starter = await run(lab, 'starter', []);
  const wrong = starter.steps.filter((s) => s.passed || s.error !== undefined || !s.tests.some((t) => !t.passed && t.message));
  report(wrong.length === 0, `${lab.name}: the starter fails every step with that step's own message`, wrong.map((s) => `${s.id}: ${s.passed ? 'passed' : `failed without a test message: ${s.error}`}`));

  for (const mistake of lab.lab.mistakes) {
    const result = await run(lab, `mistake-${mistake.id}`, [join(lab.dir, 'solution'), join(lab.dir, 'mistakes', mistake.id)]);
    const step = result.steps.find((s) => s.id === mistake.step)!;
    const messages = step.tests.filter((t) => !t.passed).map((t) => t.message ?? '');
    const named = messages.some((m) => m.includes(mistake.message));
    report(!step.passed && named, `${lab.name}: mistake "${mistake.mistake}" fails step ${mistake.step}, saying so`, [
      step.passed ? 'the step passed' : `no failure message contains "${mistake.message}"; messages:\n${messages.join('\n') || step.error}`,
    ]);
  }
}

process.stdout.write(`\ngraders: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
