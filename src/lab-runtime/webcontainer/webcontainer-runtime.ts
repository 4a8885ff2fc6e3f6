/**
 * Runs a lab in real Node, inside the page's WebContainer. The graded run is `node run-tests.mjs`
 * (the same runner as the browser Worker, so the same verdicts); the cluster preview is
 * `node serve.mjs`, the kit's node:http adapter with the entry node on port 3000.
 */
import { MIN_RUN_LIMIT_MS, type LabBundle } from '../../../labs/harness/bundle.ts';
import { stepResults, type FileOutcome, type LabResult, type TestReplay } from '../../../labs/harness/results.ts';
import { RuntimeError, type LabRuntime, type OutputLine, type RunningCluster, type RunTestsOptions } from '../runtime.ts';
// The reader reads the same words whichever runtime ran their code.
import { ABORTED_MESSAGE, memoryMessage, NOT_RUN_MESSAGE, OUT_OF_MEMORY, stalledMessage } from '../../../labs/harness/messages.ts';
import { bootWebContainer, type BootOptions } from './boot.ts';
import { lineSplitter, parseLine } from './output.ts';
import { CHANNEL_ENV, ENTRY_PORT, MOUNTED, replaysFile, TAGGED_ENV } from '../../../labs/harness/protocol.ts';
import { buildMountTree, labFilePath, loadMountAssets, type WebContainerAssets } from './tree.ts';
import type { WebContainerLike, WebContainerProcessLike } from './types.ts';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface WebContainerRuntimeOptions {
  /** The site's lab-assets folder, e.g. "/lab-assets/" (with the site's base path). */
  assetsBase: string;
  /** Returns the booted WebContainer (default: the page's one, booted on first use). */
  boot?: () => Promise<WebContainerLike>;
  /** For the default boot: the StackBlitz API key. */
  apiKey?: string;
  /** Fetches the assets (default: the page's fetch). */
  fetch?: FetchLike;
  /** A graded run that prints nothing (not even its heartbeat) for this long is stopped (default 10 s). */
  stallTimeoutMs?: number;
  /** The cluster must answer on its port within this long (default 30 s). */
  clusterTimeoutMs?: number;
}

/**
 * run-tests.mjs says it is alive every second while the event loop turns: silence this long means
 * blocked code. Longer than the Worker's 4 s: Node in WebContainer first has to load the program.
 */
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;
export const DEFAULT_CLUSTER_TIMEOUT_MS = 30_000;

export { stalledMessage };

/** Node inside WebContainer writes to a terminal: wide enough that no line is ever wrapped. */
const TERMINAL = { cols: 2000, rows: 50 };
/** How many of the last output lines a crash message quotes. */
const TAIL_LINES = 15;

interface Mounted {
  wc: WebContainerLike;
  bundle: LabBundle;
  /** The lab's folder in the WebContainer's workdir. */
  dir: string;
  /** Each lab file's text as last written, so an update that changes nothing writes nothing. */
  written: Map<string, string>;
}

function abortError(): RuntimeError {
  return new RuntimeError(ABORTED_MESSAGE, 'aborted');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Keeps the last lines printed, for the message of a run that crashed. */
function tail(): { add(line: string): void; text(): string } {
  const lines: string[] = [];
  return {
    add(line) {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
    },
    text: () => (lines.length ? `\n${lines.join('\n')}` : ''),
  };
}

export class WebContainerRuntime implements LabRuntime {
  readonly kind = 'webcontainer' as const;
  readonly #assetsBase: string;
  readonly #boot: () => Promise<WebContainerLike>;
  readonly #fetch: FetchLike;
  readonly #stallTimeoutMs: number;
  readonly #clusterTimeoutMs: number;
  #wc: Promise<WebContainerLike> | undefined;
  #assets: Promise<WebContainerAssets> | undefined;
  #mounted: Mounted | undefined;
  #cluster: RunningCluster | undefined;
  /** Every process this runtime started and has not seen end: killed by dispose(). */
  readonly #processes = new Set<WebContainerProcessLike>();
  #disposed = false;
  /** Mounts and updates touch the same folder: one at a time, in the order they were asked. */
  #fsQueue: Promise<unknown> = Promise.resolve();

  constructor(options: WebContainerRuntimeOptions) {
    this.#assetsBase = options.assetsBase.endsWith('/') ? options.assetsBase : `${options.assetsBase}/`;
    const bootOptions: BootOptions = options.apiKey ? { apiKey: options.apiKey } : {};
    this.#boot = options.boot ?? (() => bootWebContainer(bootOptions));
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.#stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#clusterTimeoutMs = options.clusterTimeoutMs ?? DEFAULT_CLUSTER_TIMEOUT_MS;
  }

  #container(): Promise<WebContainerLike> {
    if (!this.#wc) {
      const booting = this.#boot();
      this.#wc = booting;
      booting.catch(() => {
        if (this.#wc === booting) this.#wc = undefined;
      });
    }
    return this.#wc;
  }

  /**
   * Boots WebContainer now rather than on the first mount, so a failure is known before the lab
   * opens: rejects with RuntimeError('boot'), or BootTimeoutError when it hangs.
   */
  async ready(): Promise<void> {
    this.#check();
    await this.#container();
  }

  async #fetchAsset(path: string, signal: AbortSignal | undefined): Promise<Response> {
    const url = `${this.#assetsBase}${path}`;
    let response: Response;
    try {
      response = await this.#fetch(url, signal ? { signal, cache: 'no-cache' } : { cache: 'no-cache' });
    } catch (err) {
      if (signal?.aborted) throw abortError();
      throw new Error(`Could not load ${url}: ${errorText(err)}`);
    }
    if (!response.ok) throw new Error(`Could not load ${url} (HTTP ${response.status}): was the site built with its lab assets?`);
    return response;
  }

  #loadAssets(signal: AbortSignal | undefined): Promise<WebContainerAssets> {
    if (!this.#assets) {
      const loading = loadMountAssets((path) => this.#fetchAsset(path, signal));
      this.#assets = loading;
      // A failed or cancelled download is tried again on the next mount.
      loading.catch(() => {
        if (this.#assets === loading) this.#assets = undefined;
      });
    }
    return this.#assets;
  }

  #check(signal?: AbortSignal): void {
    if (this.#disposed) throw new Error('This lab runtime was disposed.');
    if (signal?.aborted) throw abortError();
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#fsQueue.then(work, work);
    this.#fsQueue = next.catch(() => {});
    return next;
  }

  #requireMounted(): Mounted {
    if (!this.#mounted) throw new Error('No lab is mounted: call mount() first.');
    return this.#mounted;
  }

  async mount(bundle: LabBundle, files: Record<string, string>, signal?: AbortSignal): Promise<void> {
    this.#check(signal);
    if (!/^[\w.-]+$/.test(bundle.name) || bundle.name.startsWith('.')) throw new Error(`Cannot mount a lab named "${bundle.name}".`);
    // The queue slot is taken now, so an update() asked for after this mount() lands in it.
    await this.#serially(async () => {
      const [wc, assets] = await Promise.all([this.#container(), this.#loadAssets(signal)]);
      this.#check(signal);
      const tree = buildMountTree(assets, bundle, files);
      // The running cluster serves the files being replaced.
      await this.#cluster?.stop();
      const dir = bundle.name;
      // A clean folder, so no file of a previous mount lingers.
      await wc.fs.rm(dir, { recursive: true, force: true });
      await wc.fs.mkdir(dir, { recursive: true });
      await wc.mount(tree, { mountPoint: dir });
      this.#mounted = { wc, bundle, dir, written: new Map(Object.entries(files)) };
    });
  }

  update(file: string, text: string): Promise<void> {
    return this.#serially(async () => {
      this.#check();
      const { wc, dir, bundle, written } = this.#requireMounted();
      if (!Object.hasOwn(bundle.starter, file)) throw new Error(`${file} is not a file of the lab ${bundle.name}.`);
      // The page sends every file before each run: only changed ones cost a write.
      if (written.get(file) === text) return;
      const path = `${dir}/${labFilePath(file)}`;
      if (file.includes('/')) await wc.fs.mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true });
      await wc.fs.writeFile(path, text);
      written.set(file, text);
    });
  }

  async #spawn(wc: WebContainerLike, dir: string, script: string, args: string[], env: Record<string, string>): Promise<WebContainerProcessLike> {
    const proc = await wc.spawn('node', [script, ...args], { cwd: dir, env: { FORCE_COLOR: '0', NO_COLOR: '1', ...env }, terminal: TERMINAL });
    this.#processes.add(proc);
    void proc.exit.then(
      () => this.#processes.delete(proc),
      () => this.#processes.delete(proc),
    );
    return proc;
  }

  async runTests(options: RunTestsOptions = {}): Promise<LabResult> {
    this.#check(options.signal);
    const { wc, dir, bundle } = this.#requireMounted();
    const steps = bundle.lab.steps.filter((s) => !options.steps || options.steps.includes(s.id));
    if (steps.length === 0) return { lab: bundle.name, steps: [] };
    const args = options.steps ? ['--steps', steps.map((s) => s.id).join(',')] : [];
    const token = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const proc = await this.#spawn(wc, dir, MOUNTED.runTests, args, { [TAGGED_ENV]: '1', [CHANNEL_ENV]: token });

    const files: FileOutcome[] = [];
    const printed = tail();
    const onOutcome = (outcome: FileOutcome) => {
      files.push(outcome);
      const step = steps.find((s) => s.test === outcome.file);
      if (step) options.onStep?.(stepResults(bundle.name, [step], [outcome], '').steps[0]!);
    };
    const onOutput = (line: OutputLine) => {
      printed.add(line.text);
      options.onOutput?.(line);
    };

    const code = await this.#watch(wc, proc, {
      signal: options.signal,
      stallTimeoutMs: this.#stallTimeoutMs,
      limitMs: bundle.runLimitMs ?? MIN_RUN_LIMIT_MS,
      onLine: (raw) => {
        const parsed = parseLine(raw, token);
        if (parsed.kind === 'file') {
          if (parsed.before?.trim()) onOutput({ stream: 'log', text: parsed.before });
          onOutcome(parsed.outcome);
        } else if (parsed.kind === 'output') {
          onOutput(parsed.line);
        }
      },
    });
    if (code !== 0 && OUT_OF_MEMORY.test(printed.text())) throw new RuntimeError(memoryMessage(), 'crash');
    if (code !== 0) throw new RuntimeError(`The tests stopped before giving a verdict (node exited with code ${code}).${printed.text()}`, 'crash');
    await attachReplays(wc, `${dir}/${replaysFile(token)}`, files);
    return stepResults(bundle.name, steps, files, NOT_RUN_MESSAGE);
  }

  /**
   * Reads a process's output line by line until it exits. Kills it and rejects on abort, on a
   * WebContainer error, and when it prints nothing for `stallTimeoutMs`.
   */
  #watch(
    wc: WebContainerLike,
    proc: WebContainerProcessLike,
    options: { signal?: AbortSignal; stallTimeoutMs: number; limitMs?: number; onLine: (line: string) => void },
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // The whole run's limit, however much the process keeps printing.
      const limit = options.limitMs === undefined ? undefined : setTimeout(() => fail(new RuntimeError(stalledMessage(Math.round(options.limitMs! / 1000)), 'timeout')), options.limitMs);
      const reader = proc.output.getReader();
      const kill = () => {
        try {
          proc.kill();
        } catch {
          // Already gone.
        }
        reader.cancel().catch(() => {});
      };
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(limit);
        options.signal?.removeEventListener('abort', onAbort);
        offError();
        settle();
      };
      const fail = (error: RuntimeError) => {
        kill();
        finish(() => reject(error));
      };
      const onAbort = () => fail(abortError());
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => fail(new RuntimeError(stalledMessage(Math.ceil(options.stallTimeoutMs / 1000)), 'timeout')), options.stallTimeoutMs);
      };
      const offError = wc.on('error', (error) => fail(new RuntimeError(`WebContainer stopped working: ${error.message}`, 'crash')));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) return onAbort();
      arm();

      const lines = lineSplitter((line) => {
        if (!settled) options.onLine(line);
      });
      const drained = (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            if (settled) continue;
            arm();
            lines.push(value);
          }
        } catch {
          // Cancelled after a kill.
        }
        lines.flush();
      })();
      proc.exit.then(
        async (code) => {
          // The last chunks can arrive after the exit code: wait for the end of output, briefly.
          await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
          finish(() => resolve(code));
        },
        (err: unknown) => fail(new RuntimeError(`The tests stopped before giving a verdict: ${errorText(err)}`, 'crash')),
      );
    });
  }

  async startCluster(options: { signal?: AbortSignal; onOutput?: (line: OutputLine) => void } = {}): Promise<RunningCluster> {
    this.#check(options.signal);
    const { wc, dir } = this.#requireMounted();
    await this.#cluster?.stop();
    this.#check(options.signal);

    const printed = tail();
    let url: string | undefined;
    let readyWaiter: ((url: string) => void) | undefined;
    // Listen before spawning: the server may be ready before spawn() returns.
    const offReady = wc.on('server-ready', (port, readyUrl) => {
      if (port !== ENTRY_PORT) return;
      url = readyUrl;
      readyWaiter?.(readyUrl);
    });
    let proc: WebContainerProcessLike;
    try {
      proc = await this.#spawn(wc, dir, MOUNTED.serve, [], { PORT: String(ENTRY_PORT) });
    } catch (err) {
      offReady();
      throw err;
    }

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        offReady();
        try {
          proc.kill();
        } catch {
          // Already gone.
        }
        await Promise.race([proc.exit.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
        if (this.#cluster === cluster) this.#cluster = undefined;
      })();
      return stopped;
    };
    const cluster: RunningCluster = {
      get url() {
        return url;
      },
      stop,
    };
    this.#cluster = cluster;

    // Output goes to the reader for as long as the cluster runs (requests, logs).
    const lines = lineSplitter((line) => {
      if (!line.trim()) return;
      printed.add(line);
      options.onOutput?.({ stream: 'log', text: line });
    });
    const drained = (async () => {
      const reader = proc.output.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          lines.push(value);
        }
      } catch {
        // Cancelled.
      }
      lines.flush();
    })();

    return new Promise<RunningCluster>((resolve, reject) => {
      let settled = false;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        offError();
        settle();
      };
      const fail = (error: Error) => finish(() => void stop().then(() => reject(error)));
      const onAbort = () => fail(abortError());
      const timer = setTimeout(
        () => fail(new RuntimeError(`The cluster did not start within ${Math.ceil(this.#clusterTimeoutMs / 1000)} s.${printed.text()}`, 'timeout')),
        this.#clusterTimeoutMs,
      );
      const offError = wc.on('error', (error) => fail(new RuntimeError(`WebContainer stopped working: ${error.message}`, 'crash')));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      readyWaiter = () => finish(() => resolve(cluster));
      void proc.exit.then(
        async (code) => {
          // Its last words can arrive after the exit code.
          await Promise.race([drained, new Promise((r) => setTimeout(r, 2000))]);
          fail(new RuntimeError(`The cluster stopped before it could serve (node exited with code ${code}).${printed.text()}`, 'crash'));
        },
        (err: unknown) => fail(new RuntimeError(`The cluster stopped before it could serve: ${errorText(err)}`, 'crash')),
      );
      if (options.signal?.aborted) onAbort();
      else if (url !== undefined) readyWaiter(url);
    });
  }

  dispose(): void {
    this.#disposed = true;
    void this.#cluster?.stop();
    for (const proc of this.#processes) {
      try {
        proc.kill();
      } catch {
        // Already gone.
      }
    }
    this.#processes.clear();
    this.#mounted = undefined;
  }
}

/** Boots WebContainer (rejecting on failure or timeout) and returns a runtime on it: for `pickRuntime`. */
export async function startWebContainerRuntime(options: Omit<WebContainerRuntimeOptions, 'boot'> & { bootTimeoutMs?: number }): Promise<WebContainerRuntime> {
  const booted = await bootWebContainer({ ...(options.apiKey ? { apiKey: options.apiKey } : {}), ...(options.bootTimeoutMs ? { timeoutMs: options.bootTimeoutMs } : {}) });
  return new WebContainerRuntime({ ...options, boot: async () => booted });
}

/**
 * Gives the failed tests the replays run-tests.mjs left in `path` (none when every test passed), and
 * removes the file. Only a replay of a test that failed is taken: what cannot be read costs replays,
 * never a verdict.
 */
async function attachReplays(wc: WebContainerLike, path: string, files: FileOutcome[]): Promise<void> {
  let text: string;
  try {
    text = await wc.fs.readFile(path, 'utf-8');
    await wc.fs.rm(path, { force: true });
  } catch {
    return;
  }
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {
    return;
  }
  if (!Array.isArray(saved)) return;
  for (const entry of saved as { file?: unknown; replays?: unknown }[]) {
    const outcome = files.find((f) => f.file === entry?.file);
    if (!outcome || !Array.isArray(entry.replays)) continue;
    const failed = new Set(outcome.tests.filter((t) => !t.passed).map((t) => t.name));
    const replays = (entry.replays as TestReplay[]).filter((r) => typeof r?.test === 'string' && failed.has(r.test));
    if (replays.length > 0) outcome.replays = replays;
  }
}
