/**
 * The graded-test runner outside Vitest: runs a lab's bundled test files against the reader's files
 * with @vitest/runner and @vitest/expect, and reports each file as the Node reporter does
 * (scripts/lab-runner/reporter.ts), so verdicts can be compared across substrates.
 *
 * Environment-neutral: no DOM and no Node built-ins, so the same code runs in a browser Worker,
 * in plain Node and in WebContainer. One run at a time per realm (the test runner's state is global).
 */
import { startTests, type File, type Task, type Test } from '@vitest/runner';
import type { FileOutcome, TestOutcome } from '../results.ts';
import { ModuleLoader, type ConsoleLike } from './loader.ts';
import { GradedTestRunner, vitestModule } from './vitest-shim.ts';

export type { FileOutcome, TestOutcome } from '../results.ts';

export interface GradedRunInput {
  /** CommonJS code of kit.js. */
  kitCode: string;
  /** Step test file path (e.g. "tests/01-round-robin.test.ts") → bundled CommonJS code. */
  tests: Record<string, string>;
  /** Every lab file by path (starter + reader's edits), TypeScript source. */
  files: Record<string, string>;
  /** Files checked by assertNoWallClock before they load. */
  editable: string[];
  /** Which test files to run, in this order. */
  testFiles: string[];
  /** Called with each fresh kit before use, e.g. kit => kit.configureSqlWasm({ locateFile: () => url }). */
  configureKit?: (kit: any) => void;
  onFileDone?: (outcome: FileOutcome) => void;
  /** Called after each test, with its verdict: progress for a watchdog, or live results. */
  onTestDone?: (file: string, test: TestOutcome) => void;
  /** Console output of the tests and the reader's code; without it, output goes to the real console. */
  onLog?: (line: { stream: 'log' | 'error'; text: string }) => void;
}

/** Vitest's full name of a test: its suites' names and its own, joined with " > ". */
function fullName(test: Test): string {
  const names = [test.name];
  for (let suite = test.suite; suite && suite !== (test.file as unknown); suite = suite.suite) names.unshift(suite.name);
  return names.join(' > ');
}

function testsOf(tasks: readonly Task[]): Test[] {
  return tasks.flatMap((task) => (task.type === 'test' ? [task] : task.type === 'suite' ? testsOf(task.tasks) : []));
}

/** One test's verdict, as Vitest's TestCase.result() and the lab reporter give it. */
export function testOutcome(test: Test): TestOutcome {
  const result = test.result;
  const mode = result?.state ?? test.mode;
  let state: 'passed' | 'failed' | 'skipped' | 'pending';
  if (!result && (mode === 'skip' || mode === 'todo')) state = 'skipped';
  else if (!result || result.state === 'run' || result.state === 'queued') state = 'pending';
  else state = result.state === 'fail' ? 'failed' : result.state === 'pass' ? 'passed' : 'skipped';
  if (state === 'passed') return { name: fullName(test), passed: true };
  const errors = state === 'failed' ? (result?.errors ?? []) : undefined;
  const message = errors?.map((e) => e.message).join('\n');
  return { name: fullName(test), passed: false, message: message ?? `test ${state}` };
}

/** A file's verdict: its tests, and the errors outside any test (a file that could not load). */
export function fileOutcome(path: string, file: File): FileOutcome {
  const errors = (file.result?.errors ?? []).map((e) => e.message);
  return { file: path, tests: testsOf(file.tasks).map(testOutcome), ...(errors.length ? { error: errors.join('\n') } : {}) };
}

function formatArg(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

function captureConsole(onLog: NonNullable<GradedRunInput['onLog']>): ConsoleLike {
  const to = (stream: 'log' | 'error') => (...args: unknown[]) => onLog({ stream, text: args.map(formatArg).join(' ') });
  return { log: to('log'), info: to('log'), debug: to('log'), warn: to('error'), error: to('error') };
}

let running = false;

/** Runs each test file in `testFiles`, in order, each with fresh modules; resolves with one outcome per file. */
export async function runGradedFiles(input: GradedRunInput): Promise<FileOutcome[]> {
  if (running) throw new Error('runGradedFiles: a graded run is already in progress in this realm');
  running = true;
  try {
    const vitest = vitestModule();
    const console: ConsoleLike = input.onLog ? captureConsole(input.onLog) : globalThis.console;
    const sources = { kitCode: input.kitCode, files: input.files, editable: input.editable };
    const outcomes: FileOutcome[] = [];
    for (const path of input.testFiles) {
      const code = input.tests[path];
      let outcome: FileOutcome;
      if (code === undefined) {
        outcome = { file: path, tests: [], error: `${path} is not in the lab's bundled tests: rebuild the lab assets.` };
      } else {
        const loader = new ModuleLoader(sources, vitest, console, input.configureKit);
        const runner = new GradedTestRunner(
          () => loader.runTest(path, code),
          input.onTestDone && ((test) => input.onTestDone!(path, testOutcome(test))),
        );
        // An absolute path, so that the runner's path handling never looks for a working directory.
        const [file] = await startTests([`/${path}`], runner);
        outcome = fileOutcome(path, file!);
      }
      outcomes.push(outcome);
      input.onFileDone?.(outcome);
    }
    return outcomes;
  } finally {
    running = false;
  }
}
