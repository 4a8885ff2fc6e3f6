/**
 * The dedicated module Worker that runs a lab's graded tests in the reader's browser, away from
 * the page, so a reader's endless loop freezes this Worker and not the page: WorkerRuntime notices
 * the silence and terminates it. Needs no special headers (no SharedArrayBuffer, no isolation).
 *
 * While a run lasts, it posts a heartbeat every `heartbeatMs` and a progress message after each
 * test: both stop only when the reader's code blocks the event loop.
 */
import { reportStrayError, runGraded } from '../../../labs/harness/runner/index.ts';
import { configureKit, loadKit, loadWasm, seedAssets } from './kit-assets.ts';
import { installFetchParity } from './fetch-parity.ts';
import { playgroundMessage, playgroundStray } from './playground-host.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

// Requests and responses between simulated nodes must behave as in Node: see fetch-parity.ts.
installFetchParity();

interface WorkerScope {
  postMessage(message: FromWorker): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
  addEventListener(type: 'unhandledrejection', listener: (event: PromiseRejectionEvent) => void): void;
  addEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
const post = (message: FromWorker) => scope.postMessage(message);

let current: number | undefined;

async function run(message: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const { id, bundle } = message;
  if (current !== undefined) {
    post({ type: 'failed', id, message: 'another run is still in progress' });
    return;
  }
  current = id;
  const heartbeat = setInterval(() => post({ type: 'progress', id }), message.heartbeatMs ?? 1000);
  try {
    const kitCode = await loadKit(message.kitUrl);
    const steps = bundle.lab.steps.filter((s) => !message.steps || message.steps.includes(s.id));
    const outcomes = await runGraded({
      kitCode,
      tests: bundle.tests,
      files: message.files,
      editable: bundle.lab.editable,
      testFiles: steps.map((s) => s.test),
      configureKit: (kit) => configureKit(kit, message.wasmUrl),
      onTestDone: (file, test) => post({ type: 'progress', id, file, test }),
      onFileDone: (outcome) => post({ type: 'file', id, outcome }),
      onOutput: (lines) => post({ type: 'log', id, lines }),
    });
    post({ type: 'done', id, outcomes });
  } catch (err) {
    post({ type: 'failed', id, message: err instanceof Error ? err.message : String(err) });
  } finally {
    clearInterval(heartbeat);
    current = undefined;
  }
}

scope.addEventListener('message', (event) => {
  const message = event.data;
  if (message.type === 'prepare') {
    seedAssets(message.kitUrl, message.kit, message.wasmUrl, message.wasm);
    // Warm-up only: a failure here is reported by the run that needs the file.
    loadKit(message.kitUrl).catch(() => {});
    if (message.wasmUrl) loadWasm(message.wasmUrl).catch(() => {});
  }
  else if (message.type === 'run') void run(message);
  else if (message.type === 'playground') playgroundMessage(message.message, (answer) => post({ type: 'playground', message: answer }));
});

// A promise left rejected with no handler, or an error thrown outside any test: shown with the run's
// output, as Vitest prints them, and the run goes on. Not passed on to the page, which would take
// an error event of this Worker for a crash.
scope.addEventListener('unhandledrejection', (event) => {
  if (current === undefined) {
    if (playgroundStray(`Unhandled rejection: ${event.reason instanceof Error ? event.reason.message : String(event.reason)}`)) event.preventDefault();
    return;
  }
  reportStrayError('Unhandled rejection', event.reason);
  event.preventDefault();
});
scope.addEventListener('error', (event) => {
  if (current === undefined) {
    if (playgroundStray(`Uncaught error: ${event.message}`)) event.preventDefault();
    return;
  }
  reportStrayError('Uncaught error', event.error ?? event.message);
  event.preventDefault();
});

post({ type: 'ready' });
