/**
 * The page's end of the playground: starts the playground Worker, sends it the reader's files and
 * acts, and hands frames to the view. The reader's code is hostile until proven otherwise: the Worker
 * runs in a sandboxed frame of its own process (worker-frame.ts), so code that fills memory crashes
 * that frame and not the tab; a Worker that posts nothing for STALL_MS while running (a synchronous
 * loop in a handler) is terminated and replaced. Either way the reader is told why, in one sentence.
 */
import type { LabBundle } from '../../../labs/harness/bundle.ts';
import { PLAYGROUND_CRASHED_MESSAGE, PLAYGROUND_MEMORY_MESSAGE, PLAYGROUND_STALLED_MESSAGE } from '../../../labs/harness/playground-messages.ts';
import type { FromWorker, ToWorker } from '../worker/protocol.ts';
import { startLabWorker, type LabWorker } from '../worker/worker-frame.ts';
import type { Act, Action, Frame, FromPlayground, ToPlayground } from './protocol.ts';

/** A running playground that says nothing for this long is stopped. */
export const STALL_MS = 4000;

export interface PlaygroundEvents {
  onStarted(info: Extract<FromPlayground, { type: 'started' }>): void;
  onFrame(frame: Frame): void;
  /** The run could not start or was stopped; the message is for the reader. */
  onFailed(message: string): void;
}

export class PlaygroundClient {
  readonly #kitUrl: string;
  readonly #wasmUrl: string;
  readonly #events: PlaygroundEvents;
  #worker: LabWorker | undefined;
  #run = 0;
  #running = false;
  /** Paused: no frames come, and that is not a stall. */
  #paused = false;
  #stall: ReturnType<typeof setTimeout> | undefined;

  constructor(assetsBase: string, events: PlaygroundEvents) {
    const absolute = new URL(assetsBase.endsWith('/') ? assetsBase : `${assetsBase}/`, globalThis.location?.href);
    this.#kitUrl = new URL('kit.js', absolute).href;
    this.#wasmUrl = new URL('sql-wasm.wasm', absolute).href;
    this.#events = events;
  }

  #worker_(): LabWorker {
    if (this.#worker) return this.#worker;
    // The graded tests' script, already loaded with the lab: a second instance costs no download.
    const worker = startLabWorker('scale-lab-playground');
    worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
      if (event.data.type === 'playground') this.#receive(event.data.message);
    });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.#fail(PLAYGROUND_CRASHED_MESSAGE);
    });
    // Its frame's process died: in practice, out of memory.
    worker.addEventListener('crash', () => this.#fail(PLAYGROUND_MEMORY_MESSAGE));
    worker.postMessage({ type: 'playground', message: { type: 'prepare', kitUrl: this.#kitUrl } } satisfies ToWorker);
    this.#worker = worker;
    return worker;
  }

  #receive(message: FromPlayground): void {
    if (message.type === 'ready') return;
    if (message.run !== this.#run) return;
    this.#arm();
    if (message.type === 'started') this.#events.onStarted(message);
    else if (message.type === 'frame') {
      if (message.ended) this.#settle();
      this.#events.onFrame(message);
    } else {
      this.#settle();
      this.#events.onFailed(message.message);
    }
  }

  #arm(): void {
    clearTimeout(this.#stall);
    if (this.#running && !this.#paused) this.#stall = setTimeout(() => this.#fail(PLAYGROUND_STALLED_MESSAGE), STALL_MS);
  }

  #settle(): void {
    this.#running = false;
    clearTimeout(this.#stall);
    this.#worker?.watch(false);
  }

  #fail(message: string): void {
    this.#settle();
    // Stopped while running: its frame goes too, with whatever the reader's code held.
    this.#worker?.terminate(true);
    this.#worker = undefined;
    this.#events.onFailed(message);
  }

  #post(message: ToPlayground): void {
    this.#worker_().postMessage({ type: 'playground', message } satisfies ToWorker);
  }

  /** Starts the reader's files as a cluster; `replay` re-applies a previous run's acts at their times. */
  start(bundle: LabBundle, files: Record<string, string>, options: { seed: number; replay: Action[]; speed: number }): void {
    const run = ++this.#run;
    this.#running = true;
    // Pinged while it runs, to notice within seconds a frame that crashed.
    this.#worker_().watch(true);
    this.#paused = options.speed === 0;
    this.#post({ type: 'speed', perSecond: options.speed });
    this.#post({ type: 'start', run, kitUrl: this.#kitUrl, wasmUrl: this.#wasmUrl, bundle, files, seed: options.seed, replay: options.replay });
    // Building the cluster may first fetch the kit: the watchdog starts with the first answer.
    clearTimeout(this.#stall);
  }

  act(act: Act): void {
    if (this.#running) this.#post({ type: 'act', act });
  }

  speed(perSecond: number): void {
    if (this.#worker) this.#post({ type: 'speed', perSecond });
    this.#paused = perSecond === 0;
    this.#arm();
  }

  step(ms: number): void {
    if (!this.#running) return;
    this.#post({ type: 'step', ms });
    // Paused, but this step must end too: its frame clears the watch.
    clearTimeout(this.#stall);
    this.#stall = setTimeout(() => this.#fail(PLAYGROUND_STALLED_MESSAGE), STALL_MS);
  }

  stop(): void {
    this.#settle();
    if (this.#worker) this.#post({ type: 'stop' });
  }

  dispose(): void {
    this.#settle();
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}
