/**
 * Chooses where the reader's code runs: real Node in a WebContainer when it can start, otherwise the
 * browser Worker, which gives the same verdicts. The reader never waits on WebContainer unless they
 * asked for it (`webcontainer`): with `auto` the lab opens on the Worker at once and WebContainer
 * boots in the background, taking over from the next run if it starts. When the Worker is used
 * because WebContainer cannot run on the page, the reader gets one plain sentence saying why.
 */
import type { RuntimePolicy } from './config.ts';
import { RuntimeError, type LabRuntime } from './runtime.ts';

export const DEFAULT_BOOT_TIMEOUT_MS = 20_000;

const PREFIX = 'Running your code in this browser tab';
const STILL_WORKS = 'everything in the lab still works';

/** The sentences shown when the Worker runs the code instead of WebContainer. */
export const RUNTIME_NOTICES = {
  notIsolated: `${PREFIX} (WebContainer could not start: this page is not cross-origin isolated, so real Node is unavailable; ${STILL_WORKS}).`,
  needsApiKey: `${PREFIX} (WebContainer needs a StackBlitz API key on this domain and none is configured, so real Node is unavailable; ${STILL_WORKS}).`,
  bootTimeout: (seconds: number) =>
    `${PREFIX} (WebContainer did not start within ${seconds} s: a blocked third-party storage setting or a network that blocks StackBlitz can cause this; ${STILL_WORKS}).`,
  bootFailed: (reason: string) => `${PREFIX} (WebContainer could not start: ${reason.replace(/[\s.]+$/, '')}; ${STILL_WORKS}).`,
} as const;

/** WebContainer did not finish booting in time (it hangs rather than fails when third-party storage is blocked). */
export class BootTimeoutError extends RuntimeError {
  readonly seconds: number;

  constructor(seconds: number) {
    super(`WebContainer did not start within ${seconds} s.`, 'boot');
    this.seconds = seconds;
  }
}

export interface PickRuntimeOptions {
  policy: RuntimePolicy;
  apiKey?: string;
  /** `crossOriginIsolated` of the page. */
  isolated: boolean;
  /** `location.origin` of the page. */
  origin: string;
  createWorker: () => LabRuntime;
  /** Boots WebContainer and returns its runtime; may reject or never settle. */
  createWebContainer: () => Promise<LabRuntime>;
  /** Gives up on `createWebContainer` after this long (default 20 s), in case it has no time limit of its own. */
  bootTimeoutMs?: number;
}

export interface PickedRuntime {
  runtime: LabRuntime;
  /** Why the Worker runs the code when WebContainer was wanted; absent otherwise. */
  notice?: string;
  /**
   * With `auto` on a page that can host WebContainer: boots it (call this once the lab is usable, so
   * the boot never competes with opening). Resolves to the booted runtime, or to undefined when it
   * could not start; never rejects, since a failed background boot costs the reader nothing.
   */
  bootInBackground?: () => Promise<LabRuntime | undefined>;
}

/** The sentence shown when WebContainer, booted in the background, takes over from the next run. */
export const WEBCONTAINER_READY_NOTICE = 'Real Node (WebContainer) has started in the background: your next run uses it, with the same tests and verdicts.';

/** localhost, 127.0.0.1, [::1] and *.localhost: where WebContainer boots without an API key. */
export function isLocalOrigin(origin: string): boolean {
  let host: string;
  try {
    host = new URL(origin).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1' || host === '[::1]' || host === '::1';
}

function withTimeout<T>(promise: Promise<T>, ms: number, onLate: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new BootTimeoutError(Math.ceil(ms / 1000)));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (late) onLate(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!late) reject(err);
      },
    );
  });
}

/** The sentence for a failed boot: a timeout, or the error's own message. */
export function bootFailureNotice(err: unknown, options: { isolated: boolean; local: boolean; apiKey?: string }): string {
  if (err instanceof BootTimeoutError) return RUNTIME_NOTICES.bootTimeout(err.seconds);
  if (!options.isolated) return RUNTIME_NOTICES.notIsolated;
  if (!options.local && !options.apiKey) return RUNTIME_NOTICES.needsApiKey;
  const message = err instanceof Error ? err.message : String(err);
  return RUNTIME_NOTICES.bootFailed(message.trim() ? message.trim().replace(/^./, (c) => c.toLowerCase()) : 'it stopped without saying why');
}

export async function pickRuntime(options: PickRuntimeOptions): Promise<PickedRuntime> {
  if (options.policy === 'worker') return { runtime: options.createWorker() };

  const local = isLocalOrigin(options.origin);
  // A WebContainer that starts after we gave up on it is freed, not left running beside the Worker.
  const boot = () => withTimeout(Promise.resolve().then(() => options.createWebContainer()), options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS, (late) => late.dispose());

  if (options.policy === 'auto') {
    if (!options.isolated) return { runtime: options.createWorker(), notice: RUNTIME_NOTICES.notIsolated };
    if (!local && !options.apiKey) return { runtime: options.createWorker(), notice: RUNTIME_NOTICES.needsApiKey };
    return {
      runtime: options.createWorker(),
      bootInBackground: () =>
        boot().catch((err: unknown) => {
          console.info(`Scale Lab: WebContainer did not start in the background, so the lab stays on the Worker (${(err instanceof Error ? err.message : String(err)).replace(/[.\s]+$/, '')}).`);
          return undefined;
        }),
    };
  }

  // `webcontainer`: the reader asked for real Node, so wait for it, and fall back only if it cannot start.
  try {
    return { runtime: await boot() };
  } catch (err) {
    return { runtime: options.createWorker(), notice: bootFailureNotice(err, { isolated: options.isolated, local, apiKey: options.apiKey }) };
  }
}
