/**
 * Runs a lab's graded tests in Node for the CLI and the grader check: runGraded in a child process
 * (labs/harness/node/grade-child.ts) with a heap limit and a time limit, so that a reader's
 * `while (true) {}` or endless allocation ends with a plain message rather than a hung terminal or a
 * V8 dump. Verdicts come over the IPC channel with a per-run token; the child's stdout is only output.
 * The child's process group is ended on every exit path: done, time limit, Ctrl+C, an error here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabBundle } from '../../labs/harness/bundle.ts';
import { memoryMessage, NOT_RUN_MESSAGE, OUT_OF_MEMORY, stalledMessage } from '../../labs/harness/messages.ts';
import { runBundleInProcess } from '../../labs/harness/node/node-host.ts';
import type { ChildMessage, ChildRunRequest } from '../../labs/harness/protocol.ts';
import { stepResults, type FileOutcome, type LabResult, type OutputLine } from '../../labs/harness/results.ts';
import { OutputLimiter } from '../../labs/harness/runner/output-limit.ts';
import { buildLabBundle, bundleKit, sqlWasmPath } from '../build-lab-assets.ts';
import { ROOT, type LabFolder } from './catalog.ts';

export interface NodeRunOptions {
  /** Stop the whole run after this many ms (default 60 s). */
  timeoutMs?: number;
  /** Only these step ids (default: every step). */
  steps?: string[];
  /** Called with each console line of the tests and the reader's code, bounded. */
  onOutput?: (line: OutputLine) => void;
  /** The child's heap limit (default DEFAULT_HEAP_MB). */
  heapMb?: number;
}

export const DEFAULT_HEAP_MB = 512;
/** The longest time limit a run takes: longer than Node's timers can wait, and longer than any lab needs. */
export const MAX_TIMEOUT_MS = 3_600_000;

const CHILD = join(ROOT, 'labs', 'harness', 'node', 'grade-child.ts');

let kit: Promise<string> | undefined;
const bundles = new Map<string, Promise<LabBundle>>();

/** The lab's tests and the kit, bundled as the site build bundles them; once per process. */
function assetsOf(lab: LabFolder): Promise<[LabBundle, string]> {
  kit ??= bundleKit();
  let bundle = bundles.get(lab.dir);
  if (!bundle) bundles.set(lab.dir, (bundle = buildLabBundle(lab)));
  return Promise.all([bundle, kit]);
}

/** Process groups of runs in progress, ended however this process ends. */
const liveGroups = new Set<() => void>();

function endAllRuns(): void {
  for (const end of liveGroups) end();
}
process.on('exit', endAllRuns);

/** Ends `child`'s process group (it was spawned detached) when this process ends; returns the function that ends it now. */
export function trackProcessGroup(child: ChildProcess): () => void {
  const end = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    liveGroups.delete(end);
  };
  liveGroups.add(end);
  return end;
}

/**
 * For the command-line programs: Ctrl+C (and SIGTERM, SIGHUP) ends every run's process group and
 * then this process. Not installed by a mere import, so a host process keeps its own handling.
 */
export function stopRunsOnInterrupt(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      endAllRuns();
      process.stderr.write(signal === 'SIGINT' ? '\nStopped (Ctrl+C).\n' : `\nStopped (${signal}).\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

function isChildMessage(value: unknown, token: string): value is ChildMessage {
  const m = value as ChildMessage;
  return typeof m === 'object' && m !== null && m.token === token && typeof m.type === 'string';
}


/** Runs `files` (every file of the lab: starter and edits) against the lab's graded tests. */
export async function runLabInNode(lab: LabFolder, files: Record<string, string>, options: NodeRunOptions = {}): Promise<LabResult> {
  const timeoutMs = Math.min(options.timeoutMs ?? 60_000, MAX_TIMEOUT_MS);
  const heapMb = options.heapMb ?? DEFAULT_HEAP_MB;
  const steps = lab.lab.steps.filter((s) => !options.steps || options.steps.includes(s.id));
  const [bundle, kitCode] = await assetsOf(lab);
  const token = randomBytes(16).toString('hex');

  const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, CHILD], {
    cwd: ROOT,
    // Its own process group, so whatever it starts ends with it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, FORCE_COLOR: '0', NODE_OPTIONS: '' },
  });
  const endGroup = trackProcessGroup(child);

  const outcomes: FileOutcome[] = [];
  let done = false;
  let failure: string | undefined;
  const show = (line: OutputLine) => options.onOutput?.(line);
  // What the child prints outside the runner (process.stdout.write): bounded like the rest.
  const raw = new OutputLimiter((lines) => lines.forEach(show));
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => raw.write('log', chunk.replace(/\n$/, '')));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  child.on('message', (message: unknown) => {
    // Anything else on the channel (the reader's code calling process.send) is ignored.
    if (!isChildMessage(message, token)) return;
    if (message.type === 'output' && Array.isArray(message.lines)) message.lines.forEach(show);
    else if (message.type === 'file') outcomes.push(message.outcome);
    else if (message.type === 'done') done = true;
    else if (message.type === 'failed') failure = String(message.message);
  });

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    endGroup();
  }, timeoutMs);
  const request: ChildRunRequest = {
    type: 'run',
    token,
    kitCode,
    wasmPath: sqlWasmPath(),
    tests: bundle.tests,
    files,
    editable: lab.lab.editable,
    testFiles: steps.map((s) => s.test),
  };
  child.send(request);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  clearTimeout(timer);
  endGroup();
  raw.end();

  let missing: string;
  if (timedOut) missing = stalledMessage(Math.round(timeoutMs / 1000));
  else if (OUT_OF_MEMORY.test(stderr)) missing = memoryMessage(heapMb);
  else if (failure !== undefined) missing = `The tests could not run: ${failure}`;
  else if (!done) {
    const detail = stderr.trim() ? `\n${stderr.trim().split('\n').slice(-10).join('\n')}` : '';
    missing = `The tests stopped before they finished (the test process ended with ${exit.signal ?? `code ${exit.code}`}): does your code call process.exit()?${detail}`;
  } else missing = NOT_RUN_MESSAGE;
  return stepResults(lab.name, steps, outcomes, missing);
}

/**
 * The same run in this process, without limits: for the Node side of the parity check, where the
 * code under test is ours (solution, starter, fixtures) and a child process would only add time.
 */
export async function runLabInProcess(lab: LabFolder, files: Record<string, string>, options: Pick<NodeRunOptions, 'steps' | 'onOutput'> = {}): Promise<LabResult> {
  const steps = lab.lab.steps.filter((s) => !options.steps || options.steps.includes(s.id));
  const [bundle, kitCode] = await assetsOf(lab);
  const outcomes = await runBundleInProcess({
    bundle,
    kitCode,
    wasm: readFileSync(sqlWasmPath()),
    wasmDir: dirname(sqlWasmPath()),
    files,
    testFiles: steps.map((s) => s.test),
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
  });
  return stepResults(lab.name, steps, outcomes, NOT_RUN_MESSAGE);
}
