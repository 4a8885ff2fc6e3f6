/**
 * One SQLite for all the fresh kits of a host. Every test file gets a fresh kit (fresh module state),
 * and each kit loading its own sql.js reserves a new WebAssembly memory: Chromium refused one after
 * 25 runs of the Databases lab in one page ("Cannot allocate Wasm memory for new instance"). The
 * first kit that needs SQLite loads it and the later ones use it; the runner closes a test file's
 * databases when the file ends (the kit's closeDatabases), so the engine's memory does not grow.
 */

/** What a kit bundle offers a host for SQLite (labs/kit/sql.ts). */
export interface KitSql {
  configureSqlWasm(source: Record<string, unknown>): void;
  loadSqlJs(source: Record<string, unknown>): Promise<unknown>;
}

/**
 * A configureKit that points every kit at one engine, loaded on first use with the sql.js module
 * options `moduleOptions()` gives (a fresh object each time: sql.js adds its own callbacks to it).
 */
export function sharedSqlEngine(moduleOptions: () => Record<string, unknown>): (kit: KitSql) => void {
  let engine: Promise<unknown> | undefined;
  return (kit) =>
    kit.configureSqlWasm({
      load: () => {
        if (!engine) {
          const loading = kit.loadSqlJs(moduleOptions());
          // A failed load (a network error, say) is tried again by the next kit that asks.
          loading.catch(() => {
            if (engine === loading) engine = undefined;
          });
          engine = loading;
        }
        return engine;
      },
    });
}

/** Closes the databases a kit opened, once the tests or the cluster that used them are done. */
export function closeKitDatabases(kit: Record<string, unknown>): void {
  if (typeof kit.closeDatabases === 'function') (kit.closeDatabases as () => void)();
}
