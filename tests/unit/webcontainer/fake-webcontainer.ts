/**
 * Fakes for the WebContainer runtime's tests. FakeWebContainer records what the runtime asks for and
 * lets each test script what a spawned process prints; NodeWebContainer really runs the mounted
 * programs with this machine's Node, in a temp folder, with output through a terminal-like stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, portOpen } from '../../support/ports.ts';
import type { FileSystemTree, SpawnOptionsLike, WebContainerLike, WebContainerProcessLike } from '../../../src/lab-runtime/webcontainer/types.ts';

type Listener = (...args: any[]) => void;

/** Writes a FileSystemTree to disk under `dir`: what WebContainer's mount does. */
export function writeTreeToDisk(tree: FileSystemTree, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, node] of Object.entries(tree)) {
    const path = join(dir, name);
    if ('directory' in node) writeTreeToDisk(node.directory, path);
    else writeFileSync(path, node.file.contents);
  }
}

/** Every file of a tree by path, e.g. { "lab/balancer.ts": "…", "sql-wasm.wasm": Uint8Array }. */
export function flattenTree(tree: FileSystemTree, prefix = ''): Record<string, string | Uint8Array> {
  const out: Record<string, string | Uint8Array> = {};
  for (const [name, node] of Object.entries(tree)) {
    if ('directory' in node) Object.assign(out, flattenTree(node.directory, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = node.file.contents;
  }
  return out;
}

class Emitter {
  readonly #listeners = new Map<string, Set<Listener>>();
  on(event: string, listener: Listener): () => void {
    const set = this.#listeners.get(event) ?? new Set();
    set.add(listener);
    this.#listeners.set(event, set);
    return () => set.delete(listener);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const listener of this.#listeners.get(event) ?? []) listener(...args);
  }
  count(event: string): number {
    return this.#listeners.get(event)?.size ?? 0;
  }
}

/** A process whose output the test writes. */
export class FakeProcess implements WebContainerProcessLike {
  readonly output: ReadableStream<string>;
  readonly exit: Promise<number>;
  killed = false;
  #controller!: ReadableStreamDefaultController<string>;
  #resolveExit!: (code: number) => void;
  #ended = false;

  constructor() {
    this.output = new ReadableStream<string>({ start: (c) => void (this.#controller = c) });
    this.exit = new Promise((resolve) => (this.#resolveExit = resolve));
  }

  write(chunk: string): void {
    if (!this.#ended) this.#controller.enqueue(chunk);
  }

  end(code = 0): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.close();
    this.#resolveExit(code);
  }

  kill(): void {
    this.killed = true;
    this.end(143);
  }
}

export interface SpawnRecord {
  command: string;
  args: string[];
  options: SpawnOptionsLike | undefined;
  process: FakeProcess;
}

export class FakeWebContainer implements WebContainerLike {
  readonly mounts: { tree: FileSystemTree; options?: { mountPoint?: string } }[] = [];
  readonly spawns: SpawnRecord[] = [];
  readonly writes: { path: string; data: string | Uint8Array }[] = [];
  readonly removed: string[] = [];
  /** Files a script left for the runtime to read (e.g. a run's replays), by path. */
  readonly files = new Map<string, string>();
  readonly events = new Emitter();
  tornDown = false;
  /** Scripts each spawned process: what it prints and when it ends. */
  onSpawn: (record: SpawnRecord) => void = () => {};

  readonly fs = {
    writeFile: async (path: string, data: string | Uint8Array) => void this.writes.push({ path, data }),
    readFile: async (path: string, _encoding: 'utf-8'): Promise<string> => {
      const file = this.files.get(path);
      if (file === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return file;
    },
    mkdir: async (_path: string, _options: { recursive: true }) => undefined,
    rm: async (path: string) => void this.removed.push(path),
  };

  async mount(tree: FileSystemTree, options?: { mountPoint?: string }): Promise<void> {
    this.mounts.push({ tree, ...(options ? { options } : {}) });
  }

  async spawn(command: string, args: string[], options?: SpawnOptionsLike): Promise<FakeProcess> {
    const record: SpawnRecord = { command, args, options, process: new FakeProcess() };
    this.spawns.push(record);
    // The script runs a moment after spawn() has returned, as a real process's output would.
    setTimeout(() => this.onSpawn(record), 0);
    return record.process;
  }

  on(event: 'server-ready' | 'error', listener: Listener): () => void {
    return this.events.on(event, listener);
  }

  teardown(): void {
    this.tornDown = true;
  }
}

/**
 * Runs the mounted programs with this machine's Node: mount writes the tree into a temp folder,
 * spawn starts a child process there (`node` is process.execPath), and its stdout and stderr come
 * out merged with `\r\n` line ends, as through WebContainer's terminal. A `PORT` asked for in the
 * environment is swapped for a free one, and `server-ready` reports the asked port once the real
 * one accepts connections, as WebContainer's virtual ports do.
 */
export class NodeWebContainer implements WebContainerLike {
  readonly root = mkdtempSync(join(tmpdir(), 'scale-lab-wc-'));
  readonly events = new Emitter();
  readonly spawned: { command: string; args: string[]; cwd: string }[] = [];
  readonly #children = new Set<ChildProcess>();

  readonly fs = {
    writeFile: async (path: string, data: string | Uint8Array) => {
      mkdirSync(dirname(join(this.root, path)), { recursive: true });
      writeFileSync(join(this.root, path), data);
    },
    readFile: async (path: string, encoding: 'utf-8') => readFileSync(join(this.root, path), encoding),
    mkdir: async (path: string, _options: { recursive: true }) => mkdirSync(join(this.root, path), { recursive: true }),
    rm: async (path: string, options?: { force?: boolean; recursive?: boolean }) => rmSync(join(this.root, path), options),
  };

  async mount(tree: FileSystemTree, options?: { mountPoint?: string }): Promise<void> {
    writeTreeToDisk(tree, join(this.root, options?.mountPoint ?? ''));
  }

  async spawn(command: string, args: string[], options: SpawnOptionsLike = {}): Promise<WebContainerProcessLike> {
    const cwd = join(this.root, options.cwd ?? '');
    this.spawned.push({ command, args, cwd });
    const env: Record<string, string> = { ...(process.env as Record<string, string>) };
    for (const [k, v] of Object.entries(options.env ?? {})) env[k] = String(v);
    const askedPort = env.PORT ? Number(env.PORT) : undefined;
    const realPort = askedPort === undefined ? undefined : await freePort();
    if (realPort !== undefined) env.PORT = String(realPort);

    const child = spawn(command === 'node' ? process.execPath : command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.add(child);
    let controller!: ReadableStreamDefaultController<string>;
    const output = new ReadableStream<string>({ start: (c) => void (controller = c) });
    let open = 2;
    // The reader may have cancelled the stream (after a kill): later chunks go nowhere.
    const quietly = (fn: () => void) => {
      try {
        fn();
      } catch {
        // Cancelled or closed.
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => quietly(() => controller.enqueue(chunk.replace(/\n/g, '\r\n'))));
      stream.on('end', () => {
        if (--open === 0) quietly(() => controller.close());
      });
    }
    const exit = new Promise<number>((resolve) =>
      child.on('close', (code, signal) => {
        this.#children.delete(child);
        resolve(code ?? (signal ? 128 + 15 : 1));
      }),
    );
    if (realPort !== undefined) {
      void (async () => {
        while (child.exitCode === null && child.signalCode === null) {
          if (await portOpen(realPort)) {
            this.events.emit('server-ready', askedPort, `http://127.0.0.1:${realPort}`);
            return;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
    }
    return { output, exit, kill: () => void child.kill('SIGKILL') };
  }

  on(event: 'server-ready' | 'error', listener: Listener): () => void {
    return this.events.on(event, listener);
  }

  teardown(): void {
    for (const child of this.#children) child.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }
}
