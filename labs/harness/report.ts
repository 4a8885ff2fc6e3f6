/**
 * The verdict of a graded run as a terminal shows it: a line per step, each failed test with its
 * message, the first failed step's task and first hint, then "N of M steps passed". Shared by
 * `npm run lab` and `node run-tests.mjs` run by hand (a downloaded lab), so both read alike.
 */
import type { Lab } from './lab-schema.ts';
import type { LabResult } from './results.ts';

const indent = (text: string, by: string) => text.split('\n').join(`\n${by}`);

export function reportText(lab: Lab, result: LabResult): string {
  let out = '';
  let firstFailure = true;
  for (const step of result.steps) {
    const meta = lab.steps.find((s) => s.id === step.id)!;
    out += `\n${step.passed ? '✓' : '✗'} ${meta.title}\n`;
    if (step.error) out += `    ${indent(step.error, '    ')}\n`;
    for (const t of step.tests.filter((t) => !t.passed)) out += `    ✗ ${t.name}\n      ${indent(t.message ?? '', '      ')}\n`;
    if (!step.passed && firstFailure) {
      firstFailure = false;
      out += `    Task: ${meta.task}\n    Hint: ${meta.hints[0]}\n`;
    }
  }
  const passed = result.steps.filter((s) => s.passed).length;
  return `${out}\n${passed} of ${result.steps.length} steps passed.\n`;
}

/** The one-line summary `--json` prints last. */
export function jsonSummary(result: LabResult): string {
  return JSON.stringify({ lab: result.lab, steps: result.steps.map((s) => ({ id: s.id, passed: s.passed })) });
}
