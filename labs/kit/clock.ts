/**
 * Time for nodes and tests. Nodes never read the wall clock: they get time from `ctx`, which is
 * backed by a VirtualClock under test (deterministic) and by a RealClock when served on real ports.
 */
export interface Clock {
  /** Milliseconds since the cluster started. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock; rejects with the signal's reason if aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms`; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
  /** Calls `fn` every `ms`; returns a function that stops it. */
  setInterval(fn: () => void, ms: number): () => void;
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
  /** Where it was scheduled from; recorded only once an instant is close to the limit below. */
  stack?: string;
}

/**
 * More timers than this at one virtual instant means time can never move on: a loop like
 * `for (;;) await ctx.sleep(0)`. The labs' solutions, starters and mistakes fire at most 100 at one
 * instant (the stampede test's concurrent misses). Low enough to stop within about a second in a
 * browser, where each round of the drive loop costs a task.
 */
export const MAX_TIMERS_PER_INSTANT = 10_000;

/** The first frame of a stack that is not the kit's own: where the reader's loop is. */
function callerOutsideKit(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    if (/scale-lab-kit|[\\/]labs[\\/]kit[\\/]|node:internal|\(native\)/.test(line)) continue;
    const at = /\(?([^\s()]+?\.[cm]?[jt]s):(\d+):\d+\)?\s*$/.exec(line);
    if (at) return `${at[1]!.split(/[\\/]/).pop()}:${at[2]}`;
  }
  return undefined;
}

/** Raised by the clock when a run keeps scheduling timers at one instant; the message is for the reader. */
export class TimerFloodError extends Error {
  override name = 'TimerFloodError';
}

/**
 * Waits for one macrotask, so every pending promise that can settle without a timer has settled.
 * setImmediate where it exists (Node), a MessageChannel elsewhere: both skip the 4 ms clamp that
 * nested setTimeout calls get in browsers.
 */
export function settle(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return new Promise((resolve) => setImmediate(resolve));
  }
  const channel = (macrotaskChannel ??= openMacrotaskChannel());
  return new Promise((resolve) => {
    channel.waiting.push(resolve);
    channel.port.postMessage(0);
  });
}

/**
 * One channel for every settle() in a browser: a fresh MessageChannel per call cost more than the
 * wait itself, and a graded run waits thousands of times. Messages arrive in the order they were
 * posted, so each one ends the oldest wait.
 */
let macrotaskChannel: { port: MessagePort; waiting: (() => void)[] } | undefined;
function openMacrotaskChannel(): { port: MessagePort; waiting: (() => void)[] } {
  const channel = new MessageChannel();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return { port: channel.port2, waiting };
}

function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal!.reason);
    };
    const cancel = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Deterministic time. It moves only when advanced, and only after every pending promise has
 * settled; timers due at the same instant fire in the order they were scheduled.
 */
export class VirtualClock implements Clock {
  #now = 0;
  #seq = 0;
  // Kept sorted by (at, seq); the number of live timers stays small (one per in-flight operation).
  #timers: Timer[] = [];
  /** Timers fired at the current instant, for the guard against time that cannot move on. */
  #firedNow = 0;
  #flood: TimerFloodError | undefined;

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const timer: Timer = { at: this.#now + Math.max(0, ms || 0), seq: this.#seq++, fn, cancelled: false };
    // Near the limit, remember who schedules timers at this instant, to name the loop.
    if (timer.at === this.#now && this.#firedNow >= MAX_TIMERS_PER_INSTANT - 10) timer.stack = new Error().stack;
    let lo = 0;
    let hi = this.#timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.#timers[mid]!;
      if (t.at < timer.at || (t.at === timer.at && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#timers.splice(lo, 0, timer);
    return () => {
      timer.cancelled = true;
    };
  }

  setInterval(fn: () => void, ms: number): () => void {
    const period = Math.max(1, ms || 0);
    let cancelNext = () => {};
    let stopped = false;
    const tick = () => {
      if (stopped) return;
      cancelNext = this.setTimeout(tick, period);
      fn();
    };
    cancelNext = this.setTimeout(tick, period);
    return () => {
      stopped = true;
      cancelNext();
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** When the next live timer is due, or undefined when nothing is scheduled. */
  nextDue(): number | undefined {
    while (this.#timers.length > 0 && this.#timers[0]!.cancelled) this.#timers.shift();
    return this.#timers[0]?.at;
  }

  /** Moves time to the next due instant and fires every timer due then. False if none is scheduled. */
  fireNext(): boolean {
    if (this.#flood) throw this.#flood;
    const at = this.nextDue();
    if (at === undefined) return false;
    if (at > this.#now) {
      this.#now = at;
      this.#firedNow = 0;
    }
    while (this.#timers.length > 0 && this.#timers[0]!.at <= this.#now) {
      const timer = this.#timers.shift()!;
      if (timer.cancelled) continue;
      if (++this.#firedNow > MAX_TIMERS_PER_INSTANT) {
        this.#flood = this.#floodError(timer);
        // Also printed once: a test that catches failed requests would otherwise hide why they failed.
        console.error(this.#flood.message);
        throw this.#flood;
      }
      timer.fn();
    }
    return true;
  }

  /** The guard's verdict: the same on every host, as it counts timers rather than wall time. */
  #floodError(timer: Timer): TimerFloodError {
    const where = callerOutsideKit(timer.stack);
    return new TimerFloodError(
      `More than ${MAX_TIMERS_PER_INSTANT.toLocaleString('en')} timers fired at ${this.#now} ms of cluster time without time moving on: ` +
        `a loop like for (;;) await ctx.sleep(0) never lets the clock advance${where ? ` (the loop is at ${where})` : ''}. ` +
        'Wait for a real amount of time (ctx.sleep(100)) or end the loop.',
    );
  }

  /** Moves time forward by `ms`, firing timers on the way, settling promises before each step. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + Math.max(0, ms);
    for (;;) {
      await settle();
      const next = this.nextDue();
      if (next === undefined || next > target) break;
      this.fireNext();
    }
    if (target > this.#now) {
      this.#now = target;
      this.#firedNow = 0;
    }
    await settle();
  }
}

/** Wall-clock time, for a cluster served on real ports. */
export class RealClock implements Clock {
  readonly #start = Date.now();

  now(): number {
    return Date.now() - this.#start;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const id = setTimeout(fn, ms);
    return () => clearTimeout(id);
  }

  setInterval(fn: () => void, ms: number): () => void {
    const id = setInterval(fn, ms);
    return () => clearInterval(id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}
