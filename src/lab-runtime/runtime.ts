/**
 * The one interface between the lab page and whatever runs the reader's code. The page never
 * touches a Worker or a WebContainer directly: it holds a LabRuntime, picked by `pickRuntime`.
 * Every call that does work takes an AbortSignal; starting a run cancels nothing by itself, the
 * caller aborts the previous one.
 */
import type { LabBundle } from '../../labs/harness/bundle.ts';
import type { LabResult, OutputLine } from '../../labs/harness/results.ts';

export type RuntimeKind = 'worker' | 'webcontainer';

export type { OutputLine } from '../../labs/harness/results.ts';

export interface RunTestsOptions {
  /** Only these step ids (default: every step). */
  steps?: string[];
  signal?: AbortSignal;
  /** Called for each console line of the reader's code, as it happens. */
  onOutput?: (line: OutputLine) => void;
  /** Called when one step's results are in, before the whole run ends. */
  onStep?: (step: LabResult['steps'][number]) => void;
}

export interface RunningCluster {
  /** Where the entry node answers, for a preview frame (WebContainer only). */
  url?: string;
  stop(): Promise<void>;
}

/** Raised when a run cannot give verdicts: stopped code, a crashed runtime. The message is for the reader. */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
  /** `timeout`: the code stopped answering; `crash`: the runtime died (e.g. out of memory); `aborted`: cancelled; `boot`: it never started. */
  readonly reason: 'timeout' | 'crash' | 'aborted' | 'boot';

  constructor(message: string, reason: RuntimeError['reason']) {
    super(message);
    this.reason = reason;
  }
}

export interface LabRuntime {
  readonly kind: RuntimeKind;
  /** Loads a lab and the reader's current files (every file of the lab: editable and provided). */
  mount(bundle: LabBundle, files: Record<string, string>, signal?: AbortSignal): Promise<void>;
  /** Replaces one file's text. */
  update(file: string, text: string): Promise<void>;
  /** Runs the graded tests against the mounted files. Rejects with RuntimeError when no verdict can be given. */
  runTests(options?: RunTestsOptions): Promise<LabResult>;
  /** Starts the lab's cluster on real ports, where the runtime has them. */
  startCluster?(options: { signal?: AbortSignal; onOutput?: (line: OutputLine) => void }): Promise<RunningCluster>;
  /** Frees the runtime. */
  dispose(): void;
}
