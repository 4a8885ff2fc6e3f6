/**
 * The playground's side of a lab Worker (lab-worker.ts): builds the reader's cluster from their
 * files and lets its virtual time run at the reader's pace, ten ticks a wall-clock second, posting
 * one aggregated frame per tick. The page starts a Worker of its own for it, apart from the graded
 * tests' (the same script, already cached), so it can terminate it whatever the reader's code does
 * without touching a test run.
 */
import { buildCluster } from '../playground/build-cluster.ts';
import { FRAMES_PER_SECOND, type Act, type FromPlayground, type ToPlayground } from '../playground/protocol.ts';
import { PlaygroundSession } from '../playground/session.ts';
import { closeKitDatabases } from '../../../labs/harness/runner/shared-sql-engine.ts';
import { configureKit, loadKit, loadWasm } from './kit-assets.ts';

let post: (message: FromPlayground) => void = () => {};
const TICK_MS = 1000 / FRAMES_PER_SECOND;

let run = 0;
let session: PlaygroundSession | undefined;
/** The kit the running cluster was built with: its databases are closed when the cluster stops. */
let kitInUse: Record<string, unknown> | undefined;
/** Acts that came while the cluster was still being built: applied as soon as it runs. */
let early: Act[] = [];
/** Virtual ms per wall second. */
let speed = 1000;
let ticking = false;
let timer: ReturnType<typeof setInterval> | undefined;
/** Console output of the reader's code, shown as the run's log. */
const printed: string[] = [];

const readerConsole = (() => {
  const write = (...args: unknown[]) => {
    printed.push(args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a) ?? String(a))).join(' ').slice(0, 300));
    if (printed.length > 20) printed.shift();
  };
  return { log: write, info: write, debug: write, warn: write, error: write };
})();

async function tick(ms: number): Promise<void> {
  if (!session || ticking) return;
  ticking = true;
  try {
    await session.tick(ms);
  } finally {
    ticking = false;
  }
}

function stop(): void {
  clearInterval(timer);
  timer = undefined;
  session?.stop();
  session = undefined;
  if (kitInUse) closeKitDatabases(kitInUse);
  kitInUse = undefined;
}

async function start(message: Extract<ToPlayground, { type: 'start' }>): Promise<void> {
  stop();
  early = [];
  const id = message.run;
  run = id;
  try {
    const kitCode = await loadKit(message.kitUrl);
    let kit: Record<string, unknown> | undefined;
    const built = await buildCluster({
      kit: kitCode,
      bundle: message.bundle,
      files: message.files,
      seed: message.seed,
      console: readerConsole,
      configureKit: (fresh) => {
        kit = fresh;
        configureKit(fresh, message.wasmUrl);
      },
    });
    if (id !== run) {
      if (kit) closeKitDatabases(kit);
      return;
    }
    kitInUse = kit;
    const entry = message.bundle.lab.cluster.entry;
    session = new PlaygroundSession(built, {
      run: id,
      entry,
      replay: message.replay,
      post: (frame) => {
        frame.speed = speed;
        if (printed.length) frame.logs.push(...printed.splice(0).map((text) => ({ at: frame.now, node: 'console', message: text })));
        post(frame);
        if (frame.ended) stop();
      },
    });
    const regions = [...new Set(built.nodeNames.map((n) => built.regionOf(n)).filter((r): r is string => r !== undefined))];
    post({ type: 'started', run: id, nodes: built.nodeNames, regions, entry, seed: message.seed });
    for (const act of early.splice(0)) session.act(act);
    await tick(0);
    // Paused (speed 0): no ticks, so the picture keeps the last figures; `step` moves on.
    timer = setInterval(() => speed > 0 && void tick((speed * TICK_MS) / 1000), TICK_MS);
  } catch (err) {
    if (id === run) post({ type: 'failed', run: id, message: err instanceof Error ? err.message : String(err) });
  }
}

/** Handles one message of the page's playground client; `send` posts the answers. */
export function playgroundMessage(message: ToPlayground, send: (message: FromPlayground) => void): void {
  post = send;
  switch (message.type) {
    case 'prepare':
      loadKit(message.kitUrl).catch(() => {});
      if (message.wasmUrl) loadWasm(message.wasmUrl).catch(() => {});
      return;
    case 'start':
      return void start(message);
    case 'act':
      try {
        if (session) session.act(message.act);
        else early.push(message.act);
      } catch (err) {
        post({ type: 'failed', run, message: err instanceof Error ? err.message : String(err) });
      }
      return;
    case 'speed':
      speed = message.perSecond;
      // Paused: one more frame (or the one in the making) carries speed 0 and the instant the cluster
      // stopped at, so the page shows "paused" only with the time a step will start from.
      if (speed === 0) void tick(0);
      return;
    case 'step':
      return void tick(message.ms);
    case 'stop':
      return stop();
  }
}

/**
 * A promise the reader's code left rejected, or an error from one of its timers, while a playground
 * runs: shown in its log. False when no playground runs (the error is someone else's).
 */
export function playgroundStray(text: string): boolean {
  if (!session) return false;
  readerConsole.error(text);
  return true;
}
