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
  /** What happened in each failed test, when the host recorded it (the browser does; `npm run lab` does not). */
  replays?: TestReplay[];
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
  /** Recordings of the failed tests, when the run recorded them. */
  replays?: TestReplay[];
}

/** One message or mark on a replay's timeline, at `at` ms of the cluster's clock. */
export type ReplayEntry =
  /**
   * An HTTP call from `from` to `to`, sent at `at`, answered (`status`) or failed (`failure`) at `end`,
   * or `unanswered`: still waiting at `end`, when the test ended.
   */
  | { kind: 'call'; at: number; end: number; from: string; to: string; what: string; status?: number; failure?: string; unanswered?: true; evidence?: number[] }
  /** A key-value command, an SQL statement or a queue operation sent to a store, a database or a queue. */
  | { kind: 'op'; at: number; from: string; to: string; what: string; evidence?: number[] }
  /** Something a node did on its own: an HTTP cache's answer (hit, stale, miss…). */
  | { kind: 'note'; at: number; node: string; text: string; evidence?: number[] }
  /** A node changed state: killed, failing, slow, hung, restarted, up, or promoted. */
  | { kind: 'state'; at: number; node: string; state: string }
  /** A `ctx.log` line (and errors the cluster logged for a node). */
  | { kind: 'log'; at: number; node: string; text: string };

/**
 * Where a recording was cut to stay bounded: what was left out between two kept parts. The part
 * between head and tail may be cut several times, around the evidence kept from it.
 */
export interface ReplayCut {
  /** Index in `entries` of the first entry after the cut. */
  at: number;
  /** Entries left out, and the span of cluster time they covered. */
  dropped: number;
  from: number;
  to: number;
  /** What the left-out entries were, most frequent first (e.g. "client → lb GET /", 840). */
  summary: { what: string; count: number }[];
}

/** One cluster of a failed test, as it was recorded. */
export interface ClusterReplay {
  seed: number;
  nodes: { name: string; kind: string; role?: string; region?: string }[];
  clients: { name: string; region?: string }[];
  entries: ReplayEntry[];
  /** In order of `at`; none when nothing was left out. */
  cuts?: ReplayCut[];
}

/** What happened in one failed test: its clusters' messages and logs, and what its assertions counted. */
export interface TestReplay {
  /** The test's full name, as in TestOutcome. */
  test: string;
  clusters: ClusterReplay[];
  /** What each `evidence(label, …)` call named; entries carry the indexes of the labels they match. */
  evidence: { label: string; matched: number }[];
  /** Why there is nothing to show (the run recorded too much, or the test made no cluster). */
  omitted?: string;
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
      return { id: step.id, passed, tests, ...(error === undefined ? {} : { error }), ...(outcome.replays?.length ? { replays: outcome.replays } : {}) };
    }),
  };
}
