/**
 * The dedicated module Worker that runs a lab's graded tests in the reader's browser, away from
 * the page, so a reader's endless loop freezes this Worker and not the page: WorkerRuntime notices
 * the silence and terminates it. Needs no special headers (no SharedArrayBuffer, no isolation).
 *
 * While a run lasts, it posts a heartbeat every `heartbeatMs` and a progress message after each
 * test: both stop only when the reader's code blocks the event loop.
 */
import { reportStrayError, runGraded } from '../../../labs/harness/runner/index.ts';
import { installFetchParity } from './fetch-parity.ts';
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

const kitCache = new Map<string, Promise<string>>();
const wasmCache = new Map<string, Promise<WebAssembly.Module>>();

/** kit.js, fetched once per URL (the URL changes when the site is rebuilt, through the page's cache). */
function loadKit(url: string): Promise<string> {
  let kit = kitCache.get(url);
  if (!kit) {
    kit = fetch(url, { cache: 'no-cache' }).then(async (res) => {
      if (!res.ok) throw new Error(`the lab kit could not be loaded (HTTP ${res.status} for ${url})`);
      return res.text();
    });
    // A failed download is tried again on the next run.
    kit.catch(() => kitCache.delete(url));
    kitCache.set(url, kit);
  }
  return kit;
}

/** SQLite's WebAssembly, compiled once and instantiated again for each test file's fresh kit. */
function loadWasm(url: string): Promise<WebAssembly.Module> {
  let module = wasmCache.get(url);
  if (!module) {
    module = fetch(url, { cache: 'no-cache' }).then(async (res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status} for ${url}`);
      return WebAssembly.compile(await res.arrayBuffer());
    });
    module.catch(() => wasmCache.delete(url));
    wasmCache.set(url, module);
  }
  return module;
}

/** Points a fresh kit's sql.js at the cached module; sql.js only asks for it when a lab creates a database. */
function configureKit(kit: any, wasmUrl: string): void {
  // sql.js passes this object to Emscripten as its Module; it adds onAbort, which rejects initSqlJs.
  const config: Record<string, unknown> = {
    locateFile: () => wasmUrl,
    instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) {
      loadWasm(wasmUrl)
        .then((module) => WebAssembly.instantiate(module, imports))
        .then(done, (err: unknown) => (config.onAbort as ((reason: string) => void) | undefined)?.(err instanceof Error ? err.message : String(err)));
      return {};
    },
  };
  kit.configureSqlWasm(config);
}

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
    // Warm-up only: a failure here is reported by the run that needs the file.
    loadKit(message.kitUrl).catch(() => {});
    if (message.wasmUrl) loadWasm(message.wasmUrl).catch(() => {});
  }
  else if (message.type === 'run') void run(message);
});

// A promise left rejected with no handler, or an error thrown outside any test: shown with the run's
// output, as Vitest prints them, and the run goes on. Not passed on to the page, which would take
// an error event of this Worker for a crash.
scope.addEventListener('unhandledrejection', (event) => {
  if (current === undefined) return;
  reportStrayError('Unhandled rejection', event.reason);
  event.preventDefault();
});
scope.addEventListener('error', (event) => {
  if (current === undefined) return;
  reportStrayError('Uncaught error', event.error ?? event.message);
  event.preventDefault();
});

post({ type: 'ready' });
