/**
 * Runs a lab's graded tests in a dedicated Worker in the reader's browser (lab-worker.ts): no
 * install, no special headers, the same verdicts as Vitest in Node. One Worker is started in advance
 * and reused between runs.
 *
 * Runaway code: a Worker cannot be interrupted, only terminated. While a run lasts the Worker posts
 * a heartbeat every second and a message after each test; when it has said nothing for
 * `stallTimeoutMs` (a synchronous `while (true) {}` blocks it), when the run outlasts the lab's run
 * limit (a loop that keeps yielding), or when it crashed (e.g. out of memory), it is terminated, a
 * fresh one is started, and the run rejects with a RuntimeError for the reader.
 *
 * Memory: the Worker runs in a hidden cross-origin frame of its own process (worker-frame.ts), so
 * code that allocates without end crashes that frame and not the tab. A frame that stops answering
 * pings during a run, or when the Worker has been silent for `stallTimeoutMs`, has crashed: the run
 * rejects with the memory message and the next Worker gets a fresh frame.
 */
import { MIN_RUN_LIMIT_MS, type LabBundle } from '../../../labs/harness/bundle.ts';
import { usesDatabase } from '../../../labs/harness/uses-database.ts';
import { stepResults, type FileOutcome, type LabResult } from '../../../labs/harness/results.ts';
import { RuntimeError, type LabRuntime, type RunTestsOptions } from '../runtime.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { startLabWorker, type LabWorker } from './worker-frame.ts';
import { ABORTED_MESSAGE, BOOT_FAILED_MESSAGE, CRASHED_MESSAGE, memoryMessage, NOT_RUN_MESSAGE, stalledMessage } from '../../../labs/harness/messages.ts';

export interface WorkerRuntimeOptions {
  /** URL of the lab-assets folder, e.g. `${import.meta.env.BASE_URL}lab-assets/`. */
  assetsBase: string;
  /** A run whose Worker says nothing for this long is stopped (default 4000 ms). */
  stallTimeoutMs?: number;
  /** Overrides the lab's run limit (LabBundle.runLimitMs), e.g. for tests. */
  runLimitMs?: number;
  /** Runs the Worker in an isolated frame where it can (default); false runs it in the page, e.g. to compare. */
  isolated?: boolean;
}

export const DEFAULT_STALL_TIMEOUT_MS = 4000;
/** How long a fresh Worker may take to load its script before the run gives up on it. */
export const BOOT_TIMEOUT_MS = 20_000;

interface ActiveRun {
  /** Ends the run with this error and replaces the Worker. */
  fail(error: RuntimeError): void;
}

export class WorkerRuntime implements LabRuntime {
  readonly kind = 'worker' as const;
  /** Milliseconds from the last `runTests` call to its results (undefined before the first run ends). */
  lastRunMs: number | undefined;

  readonly #kitUrl: string;
  readonly #wasmUrl: string;
  readonly #stallTimeoutMs: number;
  readonly #runLimitMs: number | undefined;
  readonly #isolated: boolean;
  #worker: LabWorker | undefined;
  /** Whether the current Worker has said it loaded: a Worker that never did failed to boot. */
  #ready = false;
  /** The current Worker failed while idle (e.g. its script did not load): the next run starts a fresh one. */
  #broken = false;
  /** The mounted lab has a database: fresh Workers compile SQLite in advance too. */
  #warmSql = false;
  #bundle: LabBundle | undefined;
  #files: Record<string, string> = {};
  #nextId = 1;
  #active: ActiveRun | undefined;
  /** Runs go one after another: the Worker runs one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  constructor(options: WorkerRuntimeOptions) {
    const base = options.assetsBase.endsWith('/') ? options.assetsBase : `${options.assetsBase}/`;
    // Absolute, for the Worker, which would resolve a relative URL against its own script.
    const absolute = new URL(base, globalThis.location?.href);
    this.#kitUrl = new URL('kit.js', absolute).href;
    this.#wasmUrl = new URL('sql-wasm.wasm', absolute).href;
    this.#stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#runLimitMs = options.runLimitMs;
    this.#isolated = options.isolated ?? true;
    this.#start();
  }

  /** Starts a Worker in advance, so the next run does not wait for it to load. */
  #start(): void {
    const worker = startLabWorker('scale-lab-tests', this.#isolated);
    this.#worker = worker;
    this.#ready = false;
    worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
      if (event.data.type === 'ready' && this.#worker === worker) this.#ready = true;
    });
    // An error outside any run (e.g. the script failed to load): the next run starts a fresh Worker.
    // Not replaced right away, which would loop for as long as the script cannot load.
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      if (this.#worker === worker && !this.#active) this.#broken = true;
    });
    // Its frame died while no run watched it: the next run starts afresh rather than wait on a dead Worker.
    worker.addEventListener('crash', () => {
      if (this.#worker === worker && !this.#active) this.#broken = true;
    });
    this.#prepare();
  }

  /** Lets the Worker fetch what the next run needs while the reader reads. */
  #prepare(): void {
    this.#post({ type: 'prepare', kitUrl: this.#kitUrl, ...(this.#warmSql ? { wasmUrl: this.#wasmUrl } : {}) });
  }

  /** `stuck`: the Worker was stopped mid-run, so its frame is replaced too (worker-frame.ts). */
  #replace(stuck = false): void {
    this.#worker?.terminate(stuck);
    this.#worker = undefined;
    this.#broken = false;
    if (!this.#disposed) this.#start();
  }

  #post(message: ToWorker): void {
    this.#worker?.postMessage(message);
  }

  async mount(bundle: LabBundle, files: Record<string, string>, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new RuntimeError(ABORTED_MESSAGE, 'aborted');
    this.#bundle = bundle;
    this.#files = { ...bundle.starter, ...files };
    // Warm-up: a lab whose cluster has a database will need SQLite; compile it before the first run.
    this.#warmSql = usesDatabase(bundle);
    this.#prepare();
  }

  async update(file: string, text: string): Promise<void> {
    this.#files[file] = text;
  }

  runTests(options: RunTestsOptions = {}): Promise<LabResult> {
    const started = performance.now();
    const run = this.#queue.then(() => this.#run(options, started));
    this.#queue = run.catch(() => {});
    return run;
  }

  #run(options: RunTestsOptions, started: number): Promise<LabResult> {
    const bundle = this.#bundle;
    if (this.#disposed) return Promise.reject(new RuntimeError(ABORTED_MESSAGE, 'aborted'));
    if (!bundle) return Promise.reject(new Error('WorkerRuntime: mount a lab before running its tests'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new RuntimeError(ABORTED_MESSAGE, 'aborted'));

    const steps = bundle.lab.steps.filter((s) => !options.steps || options.steps.includes(s.id));
    const id = this.#nextId++;
    if (this.#broken || !this.#worker) this.#replace();
    const worker = this.#worker!;

    return new Promise<LabResult>((resolve, reject) => {
      const outcomes: FileOutcome[] = [];
      let stallTimer: ReturnType<typeof setTimeout> | undefined;
      // The whole run's limit, however busy the Worker keeps itself.
      const limitMs = this.#runLimitMs ?? bundle.runLimitMs ?? MIN_RUN_LIMIT_MS;
      const limitTimer = setTimeout(() => fail(new RuntimeError(stalledMessage(Math.round(limitMs / 1000)), 'timeout')), limitMs);

      const cleanup = () => {
        clearTimeout(stallTimer);
        clearTimeout(limitTimer);
        worker.removeEventListener('message', onMessage);
        worker.removeEventListener('error', onError);
        worker.removeEventListener('messageerror', onMessageError);
        worker.removeEventListener('crash', onCrash);
        worker.watch(false);
        signal?.removeEventListener('abort', onAbort);
        this.#active = undefined;
      };
      const fail = (error: RuntimeError) => {
        cleanup();
        this.#replace(true);
        reject(error);
      };
      const arm = () => {
        clearTimeout(stallTimer);
        // A Worker still loading its script (slow network) gets longer; one that never loads failed to start.
        const ready = this.#ready;
        stallTimer = setTimeout(() => {
          if (!ready) return fail(new RuntimeError(BOOT_FAILED_MESSAGE, 'boot'));
          // A silent Worker whose frame still answers is stuck in a loop; a frame that does not has crashed (onCrash).
          void worker.responsive().then((alive) => {
            if (alive && this.#active === active) fail(new RuntimeError(stalledMessage(Math.round(this.#stallTimeoutMs / 1000)), 'timeout'));
          });
        }, ready ? this.#stallTimeoutMs : Math.max(BOOT_TIMEOUT_MS, this.#stallTimeoutMs));
      };

      const onMessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        if (message.type === 'ready') return arm();
        if (message.type === 'playground') return;
        if (message.id !== id) return;
        arm();
        switch (message.type) {
          case 'log':
            for (const line of message.lines) options.onOutput?.(line);
            break;
          case 'file': {
            outcomes.push(message.outcome);
            const step = steps.find((s) => s.test === message.outcome.file);
            if (step) options.onStep?.(stepResults(bundle.name, [step], [message.outcome], NOT_RUN_MESSAGE).steps[0]!);
            break;
          }
          case 'done':
            cleanup();
            this.lastRunMs = performance.now() - started;
            resolve(stepResults(bundle.name, steps, message.outcomes, NOT_RUN_MESSAGE));
            break;
          case 'failed':
            // The Worker is fine (it answered): keep it.
            cleanup();
            reject(new RuntimeError(`The tests could not run: ${message.message.replace(/[.\s]+$/, '')}. Reload the page and run again; your edits are safe.`, 'crash'));
            break;
          case 'progress':
            break;
        }
      };
      const onError = (event: ErrorEvent) => {
        event.preventDefault();
        fail(new RuntimeError(this.#ready ? CRASHED_MESSAGE : BOOT_FAILED_MESSAGE, this.#ready ? 'crash' : 'boot'));
      };
      const onMessageError = () => fail(new RuntimeError(CRASHED_MESSAGE, 'crash'));
      // The frame's process died: in practice, out of memory.
      const onCrash = () => fail(new RuntimeError(memoryMessage(), 'crash'));
      const onAbort = () => fail(new RuntimeError(ABORTED_MESSAGE, 'aborted'));

      worker.addEventListener('message', onMessage);
      worker.addEventListener('error', onError);
      worker.addEventListener('messageerror', onMessageError);
      worker.addEventListener('crash', onCrash);
      worker.watch(true);
      signal?.addEventListener('abort', onAbort, { once: true });
      const active: ActiveRun = { fail };
      this.#active = active;
      this.#post({
        type: 'run',
        id,
        kitUrl: this.#kitUrl,
        wasmUrl: this.#wasmUrl,
        bundle,
        files: { ...this.#files },
        ...(options.steps ? { steps: options.steps } : {}),
        heartbeatMs: Math.max(100, Math.min(1000, Math.floor(this.#stallTimeoutMs / 4))),
      });
      arm();
    });
  }

  dispose(): void {
    this.#disposed = true;
    this.#active?.fail(new RuntimeError(ABORTED_MESSAGE, 'aborted'));
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}
