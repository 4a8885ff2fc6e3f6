/**
 * The verdict of a graded run, the same shape on every substrate (Node, browser Worker,
 * WebContainer), so that parity can be checked by comparing two of these.
 */

/** A line the reader's code or the cluster printed while running. */
export interface OutputLine {
  stream: 'log' | 'error';
  text: string;
}

export interface TestOutcome {
  /** The test's full name, e.g. "300 requests through the balancer give each app server 100". */
  name: string;
  passed: boolean;
  /** Why it failed, in the reader's terms; absent when it passed. */
  message?: string;
}

export interface StepResult {
  id: string;
  passed: boolean;
  tests: TestOutcome[];
  /** A failure of the whole step: its file could not load, or the run was stopped. */
  error?: string;
}

export interface LabResult {
  lab: string;
  steps: StepResult[];
}

/** What a runner reports for one graded test file. */
export interface FileOutcome {
  /** The step's test file relative to the lab folder, e.g. "tests/01-round-robin.test.ts". */
  file: string;
  tests: TestOutcome[];
  /** An error outside any test: the file or a module it imports failed to load. */
  error?: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Makes a message comparable across substrates: no colours, no stack, no trailing space. */
export function normalizeMessage(message: string): string {
  const lines = message.replace(ANSI, '').split('\n');
  const kept = lines.filter((line) => !/^\s+at /.test(line));
  return kept.join('\n').trim();
}

/** Turns per-file outcomes into per-step results: a step passes when its file loaded and every test in it passed. */
export function stepResults(lab: string, steps: readonly { id: string; test: string }[], files: readonly FileOutcome[], missing: string): LabResult {
  return {
    lab,
    steps: steps.map((step) => {
      const outcome = files.find((f) => f.file === step.test);
      if (!outcome) return { id: step.id, passed: false, tests: [], error: missing };
      const tests = outcome.tests.map((t) => ({ name: t.name, passed: t.passed, ...(t.message === undefined ? {} : { message: normalizeMessage(t.message) }) }));
      const error = outcome.error === undefined ? undefined : normalizeMessage(outcome.error);
      const passed = error === undefined && tests.length > 0 && tests.every((t) => t.passed);
      return { id: step.id, passed, tests, ...(error === undefined ? {} : { error }) };
    }),
  };
}
