/**
 * What `run-tests.mjs` prints and the runtime reads back. Shared by the Node entries (bundled into
 * the WebContainer assets) and the page, so the two cannot drift apart.
 */

/**
 * Starts the line of one test file's outcome: `@@scale-lab-file {"file":…,"tests":[…]}`, the same
 * line Node's graded runs print (scripts/lab-runner/reporter.ts).
 */
export const FILE_PREFIX = '@@scale-lab-file ';

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
