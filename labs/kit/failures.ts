/**
 * Failures a reader's code can branch on. A balancer may retry a POST that was refused (it never
 * reached the server) but not one that timed out (it may have run), so every failure the network
 * makes carries a `kind` beside its message.
 */
import type { Clock } from './clock.ts';

/**
 * - `refused`: nobody accepted the connection (node down, backlog full, too many connections); the
 *   request did not run.
 * - `reset`: the node went down while handling it; it may have run in part.
 * - `timeout`: no answer in time (lost, hung, or slower than the caller's timeout); it may have run.
 * - `unknown-host`: no node has that name.
 */
export type FailureKind = 'refused' | 'reset' | 'timeout' | 'unknown-host';

/** A failure of the network between two names, like the TypeError `fetch` rejects with, plus its kind. */
export class NetworkError extends TypeError {
  readonly kind: FailureKind;

  constructor(kind: FailureKind, message: string) {
    super(message);
    this.name = 'NetworkError';
    this.kind = kind;
  }
}

/** The reason a `ctx.timeout(ms)` signal aborts with: a DOMException named TimeoutError, as `AbortSignal.timeout` gives, with `kind: 'timeout'`. */
export class TimeoutError extends DOMException {
  readonly kind = 'timeout' as const;

  constructor(ms: number) {
    super(`timed out after ${ms} ms`, 'TimeoutError');
  }
}

/** The kind of a failure, or undefined for errors that are not the network's (a bug, a SQL error). */
export function failureKind(err: unknown): FailureKind | undefined {
  if (err instanceof NetworkError) return err.kind;
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'timeout';
  return undefined;
}

/** An AbortSignal that aborts with a TimeoutError after `ms` of `clock` time. */
export function timeoutSignal(clock: Clock, ms: number): AbortSignal {
  const controller = new AbortController();
  clock.setTimeout(() => controller.abort(new TimeoutError(ms)), ms);
  return controller.signal;
}

/** Per-call limits a caller may put on `ctx.store(name, …)` and `ctx.database(name, …)`. */
export interface CallOptions {
  /** Each call fails with a `timeout` failure after this many ms of cluster time. */
  timeout?: number;
  /** Each call fails with the signal's reason once it aborts (e.g. the incoming request's deadline). */
  signal?: AbortSignal;
}

/**
 * Runs `call` under the limits of `options`: the caller's signal, and a timer for `timeout` that is
 * cancelled when the call ends (so thousands of quick calls leave no timers behind).
 */
export async function withLimits<T>(clock: Clock, options: CallOptions, call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (options.timeout === undefined) return call(options.signal);
  const controller = new AbortController();
  const ms = options.timeout;
  const cancel = clock.setTimeout(() => controller.abort(new TimeoutError(ms)), ms);
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  try {
    return await call(signal);
  } finally {
    cancel();
  }
}
