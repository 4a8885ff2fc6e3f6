/**
 * How the runner's Node hosts talk to whoever started them: what `run-tests.mjs` prints and the
 * WebContainer runtime reads back, and the CLI child's IPC messages. Shared by both ends, so they
 * cannot drift apart.
 */
import type { FileOutcome, OutputLine } from './results.ts';

/** Starts the line of one test file's outcome: `@@scale-lab-file <token> {"file":…,"tests":[…]}`. */
export const FILE_PREFIX = '@@scale-lab-file ';

/**
 * Set by the runtime to a random token for each run; `run-tests.mjs` takes it out of its environment
 * before any reader code loads and prints it in every outcome line, and the runtime takes only lines
 * with its token as verdicts. The reader's code can print, but cannot know the token.
 */
export const CHANNEL_ENV = 'SCALE_LAB_CHANNEL';

/**
 * The line of one test file's outcome. Without the failed tests' replays: they can reach a megabyte,
 * too much for one line of a terminal; they go in the replays file instead (replaysFile).
 */
export function outcomeLine(outcome: FileOutcome, token: string): string {
  const { replays: _replays, ...verdict } = outcome;
  return `${FILE_PREFIX}${token ? `${token} ` : ''}${JSON.stringify(verdict)}`;
}

/**
 * Set to "1" in the environment by the runtime: `run-tests.mjs` then marks console.error lines with
 * ERROR_PREFIX (a terminal merges stdout and stderr, so the stream must be said in the text) and
 * prints ALIVE_LINE every second and after each test. Without it (`node run-tests.mjs` by hand)
 * error lines are plain, on stderr, and there is no heartbeat.
 */
export const TAGGED_ENV = 'SCALE_LAB_TAGGED';

/** Starts a console.error line of the tests or the reader's code, in tagged mode. */
export const ERROR_PREFIX = '@@scale-lab-stderr ';

/**
 * Where `run-tests.mjs`, in tagged mode, writes the failed tests' replays once the run is over, beside
 * itself, for the runtime to read and remove: `[{ file, replays }]`, only files with a replay. Named
 * with the run's token, so a file left by another run is never taken for this one's.
 */
export function replaysFile(token: string): string {
  return `.replays-${token}.json`;
}

/**
 * "Still working", in tagged mode. It stops only when the reader's code blocks Node's event loop
 * (e.g. `while (true) {}`): the runtime stops a run that has been silent for too long.
 */
export const ALIVE_LINE = '@@scale-lab-alive';

/** How often run-tests.mjs says it is alive, in tagged mode. */
export const HEARTBEAT_MS = 1000;

/** The mounted files, relative to the lab's folder in the WebContainer. */
export const MOUNTED = {
  runTests: 'run-tests.mjs',
  serve: 'serve.mjs',
  kit: 'kit.cjs',
  sqlWasm: 'sql-wasm.wasm',
  bundle: 'lab.json',
  /** The reader's files (every file of the lab), e.g. lab/balancer.ts. */
  labDir: 'lab',
} as const;

/** The port the cluster's entry node listens on; the other nodes take the next ones. */
export const ENTRY_PORT = 3000;

/**
 * The CLI's graded run happens in a child process (labs/harness/node/grade-child.ts) that talks to
 * `npm run lab` over Node's IPC channel, never over stdout, which the reader's code can write to.
 * Every message the child sends carries the token of the request: the reader's code never sees the
 * request, so it cannot send a verdict the parent would take.
 */
export interface ChildRunRequest {
  type: 'run';
  token: string;
  kitCode: string;
  /** SQLite's WebAssembly (the browser build's), read by the child. */
  wasmPath: string;
  tests: Record<string, string>;
  files: Record<string, string>;
  editable: string[];
  testFiles: string[];
}

export type ChildMessage = { token: string } & (
  | { type: 'output'; lines: OutputLine[] }
  | { type: 'file'; outcome: FileOutcome }
  | { type: 'done' }
  /** The run could not happen (a bug of ours, not the reader's code). */
  | { type: 'failed'; message: string }
);
