/**
 * The one graded-test runner: every host (the CLI's child process, the browser Worker, the program
 * mounted in WebContainer) calls `runGraded` on the same test bundle. It runs a lab's bundled test
 * files against the reader's files with @vitest/runner and @vitest/expect, through one module loader
 * (one allow-list of imports, the wall-clock guard), and reports each file, with failure text in the
 * reader's terms and console output bounded and batched.
 *
 * Environment-neutral: no DOM and no Node built-ins, so the same code runs in a browser Worker,
 * in plain Node and in WebContainer. One run at a time per realm (the test runner's state is global).
 */
import { startTests, type File, type Task, type Test } from '@vitest/runner';
import type { FileOutcome, OutputLine, TestOutcome, TestReplay } from '../results.ts';
import { failureText } from './failure-text.ts';
import { ModuleLoader, type ConsoleLike } from './loader.ts';
import { clip, OutputLimiter, type OutputLimits } from './output-limit.ts';
import { Recorder, type RecordingLimits } from './recorder.ts';
import { GradedTestRunner, vitestModule } from './vitest-shim.ts';

export type { FileOutcome, TestOutcome } from '../results.ts';

/** Characters kept of one failure message or load error: a 30 MB message must not reach a page whole. */
export const MAX_MESSAGE_LENGTH = 4000;

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
  /**
   * Console output of the tests and the reader's code, in batches, bounded (see output-limit.ts);
   * without it, output goes to the real console.
   */
  onOutput?: (lines: OutputLine[]) => void;
  outputLimits?: Partial<OutputLimits>;
  /**
   * Records each test's messages and logs and attaches the failed tests' replays to their file's
   * outcome (default true), bounded by `recordingLimits`. On in every host, so that the cluster's
   * events are built alike everywhere; a host that has no use for replays ignores them.
   */
  record?: boolean;
  recordingLimits?: Partial<RecordingLimits>;
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
  const message = errors?.map((e) => failureText(e.message, e.name === 'AssertionError')).join('\n');
  return { name: fullName(test), passed: false, message: clip(message ?? `test ${state}`, MAX_MESSAGE_LENGTH) };
}

/** A file's verdict: its tests, and the errors outside any test (a file that could not load). */
export function fileOutcome(path: string, file: File): FileOutcome {
  const errors = (file.result?.errors ?? []).map((e) => e.message);
  return { file: path, tests: testsOf(file.tasks).map(testOutcome), ...(errors.length ? { error: clip(errors.join('\n'), MAX_MESSAGE_LENGTH) } : {}) };
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

function captureConsole(output: OutputLimiter): ConsoleLike {
  const to = (stream: 'log' | 'error') => (...args: unknown[]) => output.write(stream, args.map(formatArg).join(' '));
  return { log: to('log'), info: to('log'), debug: to('log'), warn: to('error'), error: to('error') };
}

let running = false;
/** The output of the run in progress, for errors the host catches outside any test. */
let currentOutput: OutputLimiter | undefined;

/**
 * A promise the reader's code left rejected, or an error thrown from one of its timers: shown with
 * the run's output (bounded like the rest), as Vitest prints them, and the run goes on.
 */
export function reportStrayError(kind: 'Unhandled rejection' | 'Uncaught error', reason: unknown): void {
  const text = `${kind}: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`;
  if (currentOutput) currentOutput.write('error', clip(text, MAX_MESSAGE_LENGTH));
  else globalThis.console.error(clip(text, MAX_MESSAGE_LENGTH));
}

/** Runs each test file in `testFiles`, in order, each with fresh modules; resolves with one outcome per file. */
export async function runGraded(input: GradedRunInput): Promise<FileOutcome[]> {
  if (running) throw new Error('runGraded: a graded run is already in progress in this realm');
  running = true;
  const output = input.onOutput ? new OutputLimiter(input.onOutput, input.outputLimits) : undefined;
  currentOutput = output;
  try {
    const vitest = vitestModule();
    const console: ConsoleLike = output ? captureConsole(output) : globalThis.console;
    const sources = { kit: input.kitCode, files: input.files, editable: input.editable };
    const outcomes: FileOutcome[] = [];
    const recorder = input.record === false ? undefined : new Recorder(input.recordingLimits);
    const configureKit = recorder
      ? (kit: any) => {
          input.configureKit?.(kit);
          recorder.attach(kit);
        }
      : input.configureKit;
    for (const path of input.testFiles) {
      const code = input.tests[path];
      let outcome: FileOutcome;
      if (code === undefined) {
        outcome = { file: path, tests: [], error: `${path} is not in the lab's bundled tests: rebuild the lab assets.` };
      } else {
        const loader = new ModuleLoader(sources, vitest, console, configureKit);
        const replays: TestReplay[] = [];
        const onTestDone = (test: Test) => {
          const verdict = testOutcome(test);
          const replay = recorder?.finish(test, verdict.name, verdict.passed);
          if (replay) replays.push(replay);
          input.onTestDone?.(path, verdict);
        };
        const runner = new GradedTestRunner(() => loader.runTest(path, code), recorder || input.onTestDone ? onTestDone : undefined);
        // An absolute path, so that the runner's path handling never looks for a working directory.
        let file: File | undefined;
        try {
          [file] = await startTests([`/${path}`], runner);
        } finally {
          loader.release();
        }
        outcome = fileOutcome(path, file!);
        if (replays.length) outcome.replays = replays;
      }
      // The file's output goes out before its verdict, so hosts show them in order.
      output?.flush();
      outcomes.push(outcome);
      input.onFileDone?.(outcome);
    }
    return outcomes;
  } finally {
    output?.end();
    currentOutput = undefined;
    running = false;
  }
}
