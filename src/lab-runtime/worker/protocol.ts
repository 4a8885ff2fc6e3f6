/** Messages between WorkerRuntime (the page) and lab-worker.ts (the dedicated Worker). */
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import type { FileOutcome, TestOutcome } from '../../../labs/harness/results.ts';
import type { OutputLine } from '../../../labs/harness/results.ts';
import type { FromPlayground, ToPlayground } from '../playground/protocol.ts';

export type ToWorker =
  /** Fetches kit.js (and compiles SQLite's wasm, when given) ahead of the first run, so it starts warm. */
  | {
      type: 'prepare';
      kitUrl: string;
      wasmUrl?: string;
      /** Their contents, fetched by the page for a Worker that cannot fetch them (worker-frame.ts). */
      kit?: string;
      wasm?: ArrayBuffer;
    }
  | {
      type: 'run';
      id: number;
      /** Absolute URLs: the Worker resolves relative ones against its own script, not the page. */
      kitUrl: string;
      wasmUrl: string;
      bundle: LabBundle;
      files: Record<string, string>;
      /** Step ids to run (default: every step). */
      steps?: string[];
      /** How often to say "still alive" while the run's code keeps the event loop turning. */
      heartbeatMs?: number;
    }
  /** For the playground, in a Worker of its own (see playground-host.ts). */
  | { type: 'playground'; message: ToPlayground };

export type FromWorker =
  /** The Worker's script has loaded: it can take runs. */
  | { type: 'ready' }
  /** Still working: a test ended (with its verdict) or a heartbeat. */
  | { type: 'progress'; id: number; file?: string; test?: TestOutcome }
  /** Console output, batched and bounded by the runner. */
  | { type: 'log'; id: number; lines: OutputLine[] }
  | { type: 'file'; id: number; outcome: FileOutcome }
  | { type: 'done'; id: number; outcomes: FileOutcome[] }
  /** The run could not happen (e.g. kit.js did not load); the Worker itself is fine. */
  | { type: 'failed'; id: number; message: string }
  /** The playground's answers: its frames, aggregated and bounded. */
  | { type: 'playground'; message: FromPlayground };
