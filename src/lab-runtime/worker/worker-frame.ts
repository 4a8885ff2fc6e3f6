/**
 * Hosts the lab Worker in a hidden cross-origin sandboxed frame, so that a reader's code that
 * allocates without end crashes that frame's process and not the reader's tab: Chromium gives a
 * `sandbox="allow-scripts"` frame a process of its own (tests/e2e/limits.spec.ts shows it), and a
 * dedicated Worker lives in the process of the document that started it.
 *
 * The frame's inline script only relays: it starts Workers from the worker script the page hands
 * it (a data: URL; the frame's opaque origin can fetch nothing of the site, and Chromium refuses a
 * module Worker from a blob: URL of an opaque origin), passes messages both ways over a
 * MessageChannel, and answers pings. The page fetches kit.js and SQLite's WebAssembly itself and
 * the frame gives them to every Worker it starts (kit-assets.ts keeps them).
 *
 * Each kind of Worker (by name: the tests', the playground's) gets a frame of its own. A crashed
 * frame answers nothing: while a run is watched the page pings it, and one that has not answered
 * within CRASH_MS is removed, its Workers report `crash`, and the next Worker gets a fresh frame, as
 * it does after a Worker was stopped mid-run. Where the frame cannot be set up (a host's Content-Security-Policy forbidding inline
 * scripts or data: Workers, a dev server whose worker script is not one file), Workers run directly
 * in the page as before, and the console says so once.
 */
import workerUrl from './lab-worker.ts?worker&url';
import { usesDatabase } from '../../../labs/harness/uses-database.ts';
import { fetchOnce } from './fetch-once.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

/**
 * A frame that has not answered a ping for this long has crashed (its process died, out of memory in
 * practice). Long enough that a process merely starved of CPU on a busy machine still answers.
 */
export const CRASH_MS = 3000;
/** How often a watched frame is pinged. */
const PING_EVERY_MS = 250;
/** How long a frame that has loaded may take to say it is up before Workers run in the page instead. */
const UP_TIMEOUT_MS = 2000;

/** What WorkerRuntime needs of its Worker: a Worker's own API, plus the frame's crash watch. */
export interface LabWorker {
  postMessage(message: ToWorker): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<FromWorker>) => void): void;
  addEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
  addEventListener(type: 'messageerror' | 'crash', listener: (event: Event) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent<FromWorker>) => void): void;
  removeEventListener(type: 'error', listener: (event: ErrorEvent) => void): void;
  removeEventListener(type: 'messageerror' | 'crash', listener: (event: Event) => void): void;
  /**
   * Ends the Worker. `andItsFrame`: it was stopped mid-run (stuck, over its limit, cancelled), so its
   * frame goes too once no other Worker runs there: terminating a Worker does not give back the
   * memory its code took, and the next run gets a fresh process.
   */
  terminate(andItsFrame?: boolean): void;
  /** Pings the frame while `on` (during a run), to notice a crash within CRASH_MS. */
  watch(on: boolean): void;
  /** Whether the frame still answers (a Worker in the page always does). */
  responsive(): Promise<boolean>;
  /** Where the Worker runs: in the isolated frame, or directly in the page (fallback). */
  readonly isolated: Promise<boolean>;
}

/** The relay, run in the frame. Plain JavaScript: it is the frame's whole document. */
const FRAME_SCRIPT = `
let port, source, assets;
const workers = new Map();
const seed = (worker) => { if (assets) worker.postMessage({ type: 'prepare', ...assets }); };
onmessage = (event) => {
  if (port || !event.ports[0]) return;
  port = event.ports[0];
  const reader = new FileReader();
  reader.onload = () => { source = reader.result; port.postMessage({ h: 'up' }); };
  reader.onerror = () => port.postMessage({ h: 'down', reason: String(reader.error) });
  reader.readAsDataURL(new Blob([event.data.script], { type: 'text/javascript' }));
  port.onmessage = ({ data: m }) => {
    if (m.h === 'ping') port.postMessage({ h: 'pong', n: m.n });
    else if (m.h === 'post') workers.get(m.id)?.postMessage(m.data);
    else if (m.h === 'assets') { assets = { ...assets, ...m.assets }; for (const worker of workers.values()) seed(worker); }
    else if (m.h === 'start') {
      let worker;
      try { worker = new Worker(source, { type: 'module', name: m.name }); }
      catch (err) { port.postMessage({ h: 'error', id: m.id, message: String(err) }); return; }
      workers.set(m.id, worker);
      worker.onmessage = (e) => port.postMessage({ h: 'message', id: m.id, data: e.data });
      worker.onmessageerror = () => port.postMessage({ h: 'messageerror', id: m.id });
      worker.onerror = (e) => { e.preventDefault(); port.postMessage({ h: 'error', id: m.id, message: e.message || 'the Worker failed' }); };
      seed(worker);
    }
    else if (m.h === 'stop') { workers.get(m.id)?.terminate(); workers.delete(m.id); }
  };
};
`;

type FromFrame =
  | { h: 'up' }
  | { h: 'down'; reason: string }
  | { h: 'pong'; n: number }
  | { h: 'message'; id: number; data: FromWorker }
  | { h: 'messageerror'; id: number }
  | { h: 'error'; id: number; message: string };

/** Files the page fetched for its Workers, by URL: fetched once, handed to every frame. */
const pageAssets = new Map<string, Promise<string | ArrayBuffer>>();

function fetchAsset(url: string, as: 'text'): Promise<string>;
function fetchAsset(url: string, as: 'arrayBuffer'): Promise<ArrayBuffer>;
function fetchAsset(url: string, as: 'text' | 'arrayBuffer'): Promise<string | ArrayBuffer> {
  return fetchOnce(pageAssets, url, (res) => (as === 'text' ? res.text() : res.arrayBuffer()));
}

/**
 * The files a Worker's message will make it load: kit.js for anything that runs lab code, SQLite's
 * WebAssembly where the lab's cluster has a database (or a `prepare` asks for it).
 */
function assetsFor(message: ToWorker): { kitUrl?: string; wasmUrl?: string } {
  const m = message.type === 'playground' ? message.message : message;
  switch (m.type) {
    case 'prepare':
      return { kitUrl: m.kitUrl, ...(m.wasmUrl ? { wasmUrl: m.wasmUrl } : {}) };
    case 'run':
    case 'start':
      return { kitUrl: m.kitUrl, ...(usesDatabase(m.bundle) ? { wasmUrl: m.wasmUrl } : {}) };
    default:
      return {};
  }
}

/** Why Workers run in the page rather than in a frame; said in the console once. */
let fallback: string | undefined;

function fallBack(reason: string): void {
  if (fallback !== undefined) return;
  fallback = reason;
  console.warn(`Scale Lab: the lab's tests run in a Worker of this page, not in an isolated frame (${reason}). Code that uses too much memory may crash this tab.`);
}

/**
 * The page's frames, one per kind of Worker (the tests', the playground's), so that one kind can be
 * stopped and its frame removed without the other's. Chromium may still put both sandboxed frames in
 * one process: code that fills memory in the playground then takes the tests' idle Worker down too,
 * and the next graded run starts a fresh one (WorkerRuntime treats a crash outside a run so).
 */
const frames = new Map<string, WorkerFrame>();

/** The frame for Workers of this name, set up on first use and again after a crash; undefined where Workers run in the page. */
async function hostFrame(name: string): Promise<WorkerFrame | undefined> {
  if (fallback !== undefined) return undefined;
  if (import.meta.env.DEV) {
    fallBack('the dev server serves the worker script as separate modules');
    return undefined;
  }
  if (typeof document === 'undefined' || !document.body || !('sandbox' in HTMLIFrameElement.prototype)) {
    fallBack('this browser cannot host it');
    return undefined;
  }
  let frame = frames.get(name);
  if (!frame || frame.dead || frame.retiring) {
    frame = new WorkerFrame();
    frames.set(name, frame);
  }
  const reason = await frame.up;
  if (reason === true) return frame;
  fallBack(reason);
  return undefined;
}

let nextId = 1;

/** A watched frame's ping in flight: sent at `since`. */
interface Watch {
  timer: ReturnType<typeof setInterval>;
  since?: number;
}

class WorkerFrame {
  dead = false;
  /** Takes no new Workers, and is removed when its last one stops. */
  retiring = false;
  /** true once the frame relays; otherwise why it could not be set up. */
  readonly up: Promise<true | string>;
  readonly #iframe: HTMLIFrameElement;
  readonly #channel = new MessageChannel();
  readonly #workers = new Map<number, IsolatedWorker>();
  readonly #watched = new Set<number>();
  /** The URLs of the files this frame holds (kit.js, SQLite's WebAssembly). */
  readonly #sent = new Set<string>();
  #pingNo = 0;
  /** When the frame last answered a ping. */
  #lastPong = -Infinity;
  readonly #pongs = new Map<number, () => void>();
  #watch: Watch | undefined;

  constructor() {
    const script = fetchAsset(workerUrl, 'arrayBuffer');
    const iframe = document.createElement('iframe');
    iframe.sandbox.add('allow-scripts');
    iframe.hidden = true;
    iframe.tabIndex = -1;
    iframe.title = 'Lab test runner';
    iframe.setAttribute('aria-hidden', 'true');
    iframe.srcdoc = `<!doctype html><meta charset="utf-8"><script>${FRAME_SCRIPT}</script>`;
    this.#iframe = iframe;
    this.up = new Promise((resolve) => {
      this.#channel.port1.onmessage = ({ data }: MessageEvent<FromFrame>) => {
        if (data.h === 'up') resolve(true);
        else if (data.h === 'down') resolve(`the frame could not read the worker script: ${data.reason}`);
        else this.#receive(data);
      };
      iframe.addEventListener(
        'load',
        () => {
          script.then(
            (bytes) => {
              iframe.contentWindow?.postMessage({ script: bytes }, '*', [this.#channel.port2]);
              // A frame whose inline script a Content-Security-Policy blocked never answers.
              setTimeout(() => resolve('its script did not start; a Content-Security-Policy may forbid it'), UP_TIMEOUT_MS);
            },
            (err: unknown) => resolve(`the worker script did not load: ${err instanceof Error ? err.message : String(err)}`),
          );
        },
        { once: true },
      );
    });
    this.up.then((up) => up === true || this.#remove());
    document.body.append(iframe);
  }

  #send(message: object, transfer: Transferable[] = []): void {
    this.#channel.port1.postMessage(message, transfer);
  }

  #receive(data: FromFrame): void {
    if (data.h === 'pong') {
      this.#lastPong = performance.now();
      this.#pongs.get(data.n)?.();
      return;
    }
    if (data.h === 'up' || data.h === 'down') return;
    this.#workers.get(data.id)?.fromFrame(data);
  }

  start(worker: IsolatedWorker, id: number, name: string): void {
    this.#workers.set(id, worker);
    this.#send({ h: 'start', id, name });
  }

  stop(id: number, andThisFrame = false): void {
    this.watch(id, false);
    this.#workers.delete(id);
    if (!this.dead) this.#send({ h: 'stop', id });
    if (andThisFrame) this.retiring = true;
    // Removing the frame ends its process, and with it whatever the stopped Worker still held.
    if (this.retiring && this.#workers.size === 0 && !this.dead) this.#remove();
  }

  /** Sends a Worker's message, after the files it will need that the frame does not hold yet. */
  async post(id: number, message: ToWorker): Promise<void> {
    const { kitUrl, wasmUrl } = assetsFor(message);
    const kitNeeded = kitUrl !== undefined && !this.#sent.has(kitUrl);
    const wasmNeeded = wasmUrl !== undefined && !this.#sent.has(wasmUrl);
    if (kitNeeded || wasmNeeded) {
      try {
        const [kit, wasm] = await Promise.all([kitNeeded ? fetchAsset(kitUrl, 'text') : undefined, wasmNeeded ? fetchAsset(wasmUrl, 'arrayBuffer') : undefined]);
        if (kitNeeded) this.#sent.add(kitUrl);
        if (wasmNeeded) this.#sent.add(wasmUrl);
        // The page keeps its copy for the next frame; the frame clones its own for each Worker.
        this.#send({ h: 'assets', assets: { ...(kitNeeded ? { kitUrl, kit } : {}), ...(wasmNeeded ? { wasmUrl, wasm } : {}) } });
      } catch {
        // Not fetched: the Worker tries itself and the run reports what went wrong.
      }
    }
    if (!this.dead) this.#send({ h: 'post', id, data: message });
  }

  /** Resolves whether the frame answers within `ms`. */
  ping(ms = CRASH_MS): Promise<boolean> {
    if (this.dead) return Promise.resolve(false);
    // A watched frame answered a moment ago: no need to wait for another answer (its process may be
    // slow to schedule while the Worker spins).
    if (this.#watch && performance.now() - this.#lastPong < 2 * PING_EVERY_MS) return Promise.resolve(true);
    const n = ++this.#pingNo;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pongs.delete(n);
        resolve(false);
        this.#crashed();
      }, ms);
      this.#pongs.set(n, () => {
        clearTimeout(timer);
        this.#pongs.delete(n);
        resolve(true);
      });
      this.#send({ h: 'ping', n });
    });
  }

  watch(id: number, on: boolean): void {
    if (on) this.#watched.add(id);
    else this.#watched.delete(id);
    if (this.#watched.size > 0 && !this.#watch && !this.dead) {
      // One ping in flight at a time, timed from when it was sent: a throttled timer cannot fake a crash.
      const watch: Watch = { timer: setInterval(() => this.#tick(watch), PING_EVERY_MS) };
      this.#watch = watch;
    } else if (this.#watched.size === 0 && this.#watch) {
      clearInterval(this.#watch.timer);
      this.#watch = undefined;
    }
  }

  #tick(watch: Watch): void {
    if (watch.since !== undefined) {
      if (performance.now() - watch.since > CRASH_MS) this.#crashed();
      return;
    }
    const n = ++this.#pingNo;
    watch.since = performance.now();
    this.#pongs.set(n, () => {
      this.#pongs.delete(n);
      watch.since = undefined;
    });
    this.#send({ h: 'ping', n });
  }

  /** The frame's process died: its Workers say so, and the next Worker gets a fresh frame. */
  #crashed(): void {
    if (this.dead) return;
    this.#remove();
    for (const worker of [...this.#workers.values()]) worker.crashed();
    this.#workers.clear();
  }

  #remove(): void {
    this.dead = true;
    if (this.#watch) clearInterval(this.#watch.timer);
    this.#watch = undefined;
    this.#watched.clear();
    this.#channel.port1.close();
    this.#iframe.remove();
  }
}

/** Starts a lab Worker: in the page's isolated frame where it can be set up, in the page otherwise. */
export function startLabWorker(name: string, isolated = true): LabWorker {
  // EventTarget's listener types are looser than LabWorker's, which name the events this one dispatches.
  return new IsolatedWorker(name, isolated) as unknown as LabWorker;
}

/**
 * The lab Worker, started in the page's frame, or directly in the page where there is none.
 * Messages posted before the frame is up wait for it; those posted before the Worker first spoke
 * are kept, to start over on a Worker in the page if the frame's Worker cannot start.
 */
class IsolatedWorker extends EventTarget {
  readonly isolated: Promise<boolean>;
  readonly #name: string;
  readonly #id = nextId++;
  #frame: WorkerFrame | undefined;
  #direct: Worker | undefined;
  #heard = false;
  #early: ToWorker[] = [];
  #chain: Promise<unknown>;
  #ended = false;
  #watching = false;

  constructor(name: string, isolated: boolean) {
    super();
    this.#name = name;
    const frame = isolated ? hostFrame(name) : Promise.resolve(undefined);
    this.#chain = frame.then((frame) => {
      if (this.#ended) return;
      if (!frame) return this.#goDirect();
      this.#frame = frame;
      frame.start(this, this.#id, name);
      if (this.#watching) frame.watch(this.#id, true);
    });
    this.isolated = this.#chain.then(() => this.#frame !== undefined);
  }

  postMessage(message: ToWorker): void {
    if (this.#ended) return;
    this.#chain = this.#chain.then(async () => {
      if (this.#ended) return;
      if (this.#direct) return this.#direct.postMessage(message);
      if (!this.#heard) this.#early.push(message);
      await this.#frame?.post(this.#id, message);
    });
  }

  /** From the frame: the Worker's messages and errors. */
  fromFrame(data: Exclude<FromFrame, { h: 'up' | 'down' | 'pong' }>): void {
    if (this.#ended || this.#direct) return;
    if (data.h === 'message') {
      this.#heard = true;
      this.#early = [];
      this.dispatchEvent(new MessageEvent('message', { data: data.data }));
    } else if (data.h === 'messageerror') this.dispatchEvent(new Event('messageerror'));
    else if (!this.#heard) {
      // The frame's Worker never started (e.g. a policy forbids data: Workers): run in the page instead.
      fallBack(`its Worker could not start: ${data.message}`);
      this.#frame?.stop(this.#id);
      this.#frame = undefined;
      this.#chain = this.#chain.then(() => this.#goDirect());
    } else this.dispatchEvent(new ErrorEvent('error', { message: data.message, cancelable: true }));
  }

  crashed(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.dispatchEvent(new Event('crash'));
  }

  #goDirect(): void {
    if (this.#ended) return;
    const worker = new Worker(workerUrl, { type: 'module', name: this.#name });
    this.#direct = worker;
    worker.addEventListener('message', (event) => this.dispatchEvent(new MessageEvent('message', { data: event.data })));
    worker.addEventListener('messageerror', () => this.dispatchEvent(new Event('messageerror')));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.dispatchEvent(new ErrorEvent('error', { message: event.message, error: event.error, cancelable: true }));
    });
    for (const message of this.#early) worker.postMessage(message);
    this.#early = [];
  }

  terminate(andItsFrame = false): void {
    this.#ended = true;
    this.#direct?.terminate();
    this.#frame?.stop(this.#id, andItsFrame);
  }

  watch(on: boolean): void {
    this.#watching = on;
    this.#frame?.watch(this.#id, on);
  }

  async responsive(): Promise<boolean> {
    await this.isolated;
    return this.#frame ? this.#frame.ping() : true;
  }
}
