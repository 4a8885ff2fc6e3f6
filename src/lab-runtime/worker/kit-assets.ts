/**
 * What a Worker needs to run lab code: kit.js and SQLite's WebAssembly, each fetched once per URL
 * and kept, and fresh kits pointed at one SQLite engine. Shared by the graded-test Worker and
 * the playground Worker.
 */
import { sharedSqlEngine, type KitSql } from '../../../labs/harness/runner/shared-sql-engine.ts';
import { fetchOnce } from './fetch-once.ts';

const kitCache = new Map<string, Promise<string>>();
const wasmCache = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Hands the Worker kit.js and SQLite's WebAssembly fetched by the page: a Worker hosted in a
 * sandboxed frame (worker-frame.ts) has an opaque origin and cannot fetch the site's files itself.
 */
export function seedAssets(kitUrl: string, kit: string | undefined, wasmUrl: string | undefined, wasm: ArrayBuffer | undefined): void {
  if (kit !== undefined) kitCache.set(kitUrl, Promise.resolve(kit));
  if (wasmUrl && wasm && !wasmCache.has(wasmUrl)) {
    const module = WebAssembly.compile(wasm);
    module.catch(() => wasmCache.delete(wasmUrl));
    wasmCache.set(wasmUrl, module);
  }
}

/** kit.js, fetched once per URL (the URL changes when the site is rebuilt, through the page's cache). */
export function loadKit(url: string): Promise<string> {
  return fetchOnce(kitCache, url, (res) => res.text(), 'the lab kit');
}

/** SQLite's WebAssembly, compiled once and instantiated again for each test file's fresh kit. */
export function loadWasm(url: string): Promise<WebAssembly.Module> {
  return fetchOnce(wasmCache, url, async (res) => WebAssembly.compile(await res.arrayBuffer()), 'SQLite');
}

/** One configureKit per SQLite URL: every fresh kit of this Worker shares one engine (see shared-sql-engine.ts). */
const configurers = new Map<string, (kit: KitSql) => void>();

/** Points a fresh kit's sql.js at the Worker's one engine; it is loaded when a lab first creates a database. */
export function configureKit(kit: KitSql, wasmUrl: string): void {
  let configure = configurers.get(wasmUrl);
  if (!configure) {
    configure = sharedSqlEngine(() => {
      // sql.js passes this object to Emscripten as its Module; it adds onAbort, which rejects initSqlJs.
      const options: Record<string, unknown> = {
        locateFile: () => wasmUrl,
        instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) {
          loadWasm(wasmUrl)
            .then((module) => WebAssembly.instantiate(module, imports))
            .then(done, (err: unknown) => (options.onAbort as ((reason: string) => void) | undefined)?.(err instanceof Error ? err.message : String(err)));
          return {};
        },
      };
      return options;
    });
    configurers.set(wasmUrl, configure);
  }
  configure(kit);
}
