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
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(0);
  });
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

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const timer: Timer = { at: this.#now + Math.max(0, ms || 0), seq: this.#seq++, fn, cancelled: false };
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
    const at = this.nextDue();
    if (at === undefined) return false;
    this.#now = Math.max(this.#now, at);
    while (this.#timers.length > 0 && this.#timers[0]!.at <= this.#now) {
      const timer = this.#timers.shift()!;
      if (!timer.cancelled) timer.fn();
    }
    return true;
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
    this.#now = target;
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
