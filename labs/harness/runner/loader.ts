/**
 * A tiny CommonJS loader for one graded test file. Module ids:
 *   `vitest`              the shim (vitest-shim.ts), shared
 *   `@scale-lab/kit`      the kit bundle, evaluated once per loader
 *   `../starter/<file>`   from a test: the lab's file under test (the reader's version)
 *   `./<file>`            from a lab file: another lab file
 * A loader is made per test file, so every test file gets fresh modules, as under Vitest's isolation.
 * Lab files are TypeScript, transpiled with sucrase (which keeps line numbers), and evaluated with a
 * `sourceURL` of their own name, so that stack traces name the reader's file and line.
 */
import { transform } from 'sucrase';
import { closeKitDatabases } from './shared-sql-engine.ts';

export interface LoaderSources {
  /** CommonJS code of the kit bundle, evaluated once per loader; or the kit itself, already loaded. */
  kit: string | Record<string, unknown>;
  /** Every lab file by path, TypeScript source. */
  files: Record<string, string>;
  /** Files checked by the kit's assertNoWallClock before they load. */
  editable: readonly string[];
}

interface Module {
  exports: Record<string, unknown>;
}

type Require = (spec: string) => unknown;

/** What the tests' and the reader's `console` calls become. */
export type ConsoleLike = Pick<Console, 'log' | 'info' | 'debug' | 'warn' | 'error'>;

const KIT = '@scale-lab/kit';

/** The loader's own errors, which already say which file is at fault: they reach the reader as they are. */
const named = new WeakSet<object>();

function namedError<E extends Error>(error: E): E {
  named.add(error);
  return error;
}

/**
 * Runs CommonJS `code` as a module. The wrapper opens on the code's first line, so line numbers in
 * stack traces are the source's own; `url` names the file in those traces.
 */
export function evaluateModule(code: string, url: string, module: Module, require: Require, console: ConsoleLike): void {
  // Indirect eval: global scope, nothing of this file visible to the evaluated code.
  const indirectEval = eval;
  let wrapper: (exports: Module['exports'], require: Require, module: Module, console: ConsoleLike) => void;
  try {
    wrapper = indirectEval(`(function (exports, require, module, console) {${code}\n})\n//# sourceURL=${url}`);
  } catch (err) {
    // A syntax error the transpiler let through: its stack does not name the file, so the message does.
    if (err instanceof SyntaxError) throw namedError(new SyntaxError(`${url}: ${err.message}`));
    throw err;
  }
  wrapper.call(module.exports, module.exports, require, module, console);
}

/** Normalizes a posix path: resolves `.` and `..`; a result starting with `..` has left the root. */
function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function dirnameOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** A sucrase syntax error as the reader should see it: file:line:column, the message, the line. */
function syntaxError(file: string, source: string, err: unknown): Error {
  const e = err as { message?: string; loc?: { line: number; column: number } };
  const reason = (e.message ?? String(err)).replace(/^Error transforming [^:]*: /, '').replace(/ \(\d+:\d+\)$/, '');
  if (!e.loc) return namedError(new SyntaxError(`${file}: ${reason}`));
  const { line, column } = e.loc;
  const text = source.split('\n')[line - 1] ?? '';
  const gutter = String(line).length;
  const frame = `  ${line} | ${text}\n  ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, column - 1))}^`;
  return namedError(new SyntaxError(`${file}:${line}:${column}: ${reason}\n${frame}`));
}

/** Transpiled lab files by path and source: every test file of a run loads the same files again. */
const transpiled = new Map<string, string>();
const TRANSPILED_MAX = 64;

/** TypeScript → CommonJS, line for line (sucrase keeps line numbers, so stack traces match the source). */
function transpile(file: string, source: string): string {
  const key = `${file}\0${source}`;
  let code = transpiled.get(key);
  if (code === undefined) {
    try {
      code = transform(source, { transforms: ['typescript', 'imports'], filePath: file, disableESTransforms: true, production: true }).code;
    } catch (err) {
      throw syntaxError(file, source, err);
    }
    if (transpiled.size >= TRANSPILED_MAX) transpiled.delete(transpiled.keys().next().value!);
    transpiled.set(key, code);
  }
  return code;
}

export class ModuleLoader {
  readonly #sources: LoaderSources;
  readonly #vitest: unknown;
  readonly #console: ConsoleLike;
  readonly #configureKit: ((kit: any) => void) | undefined;
  readonly #cache = new Map<string, Module>();
  #kit: Module | undefined;

  constructor(sources: LoaderSources, vitest: unknown, console: ConsoleLike, configureKit?: (kit: any) => void) {
    this.#sources = sources;
    this.#vitest = vitest;
    this.#console = console;
    this.#configureKit = configureKit;
  }

  /** The kit's exports, evaluated on first use. */
  kit(): Record<string, unknown> {
    if (!this.#kit) {
      const { kit } = this.#sources;
      if (typeof kit !== 'string') return (this.#kit = { exports: kit }).exports;
      const module: Module = { exports: {} };
      evaluateModule(kit, 'scale-lab-kit.js', module, (spec) => {
        throw new Error(`The kit bundle requires "${spec}", which is not available: rebuild the lab assets.`);
      }, this.#console);
      this.#kit = module;
      this.#configureKit?.(module.exports);
    }
    return this.#kit.exports;
  }

  /** Closes the databases the tests opened (see shared-sql-engine.ts); the loader is done. */
  release(): void {
    if (this.#kit) closeKitDatabases(this.#kit.exports);
  }

  /** Runs a bundled test file (path like "tests/01-round-robin.test.ts") and returns its exports. */
  runTest(path: string, code: string): unknown {
    const module: Module = { exports: {} };
    this.#cache.set(`test:${path}`, module);
    evaluateModule(code, path, module, (spec) => this.#requireFromTest(spec, path), this.#console);
    return module.exports;
  }

  #requireFromTest(spec: string, from: string): unknown {
    if (spec === 'vitest') return this.#vitest;
    if (spec === KIT) return this.kit();
    if (spec.startsWith('.')) {
      const target = normalize(`${dirnameOf(from)}/${spec}`);
      if (target.startsWith('starter/')) return this.#requireLabFile(target.slice('starter/'.length), spec, from);
    }
    throw namedError(new Error(`${from} imports "${spec}", which a graded test cannot use: only vitest, ${KIT} and ../starter/<file> are resolved at run time.`));
  }

  #requireFromLabFile(spec: string, from: string): unknown {
    if (spec === KIT) return this.kit();
    if (spec.startsWith('./') || spec.startsWith('../')) {
      const target = normalize(`${dirnameOf(from)}/${spec}`);
      if (!target.startsWith('..')) return this.#requireLabFile(target, spec, from);
    }
    throw namedError(new Error(`${from} imports "${spec}", which is not available here: lab code can import ${KIT} and the lab's own files (like './app.ts').`));
  }

  /** A lab file's exports, loaded from the lab's root (e.g. "cluster.ts"), as the CLI's --serve and serve.mjs build the cluster. */
  labFile(path: string): Record<string, unknown> {
    return this.#requireLabFile(normalize(path), `./${path}`, 'The lab') as Record<string, unknown>;
  }

  #requireLabFile(path: string, spec: string, from: string): unknown {
    const { files } = this.#sources;
    const found = [path, `${path}.ts`, path.replace(/\.js$/, '.ts'), `${path}/index.ts`].find((p) => Object.hasOwn(files, p));
    if (found === undefined) throw namedError(new Error(`${from} imports "${spec}", but the lab has no file ${path}.`));
    const cached = this.#cache.get(`lab:${found}`);
    if (cached) return exportsOf(found, cached);

    const source = files[found]!;
    // Cached before it runs, so circular imports see the partial exports, as in CommonJS and ESM.
    const module: Module = { exports: {} };
    try {
      // The guard runs on the source as written, before anything else.
      if (this.#sources.editable.includes(found)) (this.kit().assertNoWallClock as (file: string, source: string) => void)(found, source);
      const code = transpile(found, source);
      this.#cache.set(`lab:${found}`, module);
      evaluateModule(code, found, module, (s) => this.#requireFromLabFile(s, found), this.#console);
    } catch (err) {
      this.#cache.delete(`lab:${found}`);
      throw loadError(found, err);
    }
    return exportsOf(found, module);
  }
}

/** What the reader reads when a lab file throws while it loads: the file (and line) first. */
function loadError(file: string, err: unknown): unknown {
  if (typeof err === 'object' && err !== null && named.has(err)) return err;
  // The kit's wall-clock guard names the file and line: "balancer.ts:12 uses Date.now()…".
  if (err instanceof Error && /^\S+:\d+ uses /.test(err.message)) return namedError(err);
  const e = (typeof err === 'object' && err !== null ? err : new Error(String(err))) as Error;
  const line = new RegExp(`[(\\s/]${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):\\d+`).exec(e.stack ?? '')?.[1];
  const wrapped = new Error(`${file}${line ? `:${line}` : ''} threw an error while loading, before any test could run: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
  named.add(wrapped);
  return wrapped;
}

/** Module exports that say "balancer.ts does not export createBalancer" when code asks for a name the file does not export. */
const guarded = new WeakMap<object, object>();
const NOT_EXPORTS = new Set(['__esModule', 'then', 'toJSON', 'constructor', '$$typeof', 'asymmetricMatch', 'nodeType', 'inspect']);

function exportsOf(file: string, module: Module): unknown {
  const target = module.exports;
  if (typeof target !== 'object' || target === null) return target;
  let proxy = guarded.get(target);
  if (!proxy) {
    proxy = new Proxy(target, {
      get(obj, key, receiver) {
        if (typeof key === 'string' && !NOT_EXPORTS.has(key) && !(key in obj)) {
          throw namedError(new TypeError(key === 'default' ? `${file} has no default export: import it by name, like import { … } from './${file}'` : `${file} does not export ${key}`));
        }
        return Reflect.get(obj, key, receiver);
      },
    });
    guarded.set(target, proxy);
  }
  return proxy;
}
