import { describe, expect, test, vi } from 'vitest';
import { closeKitDatabases, sharedSqlEngine, type KitSql } from '../../../labs/harness/runner/shared-sql-engine.ts';

type Kit = typeof import('../../../labs/kit/index.ts');

/** A kit with its own module state, as a host's fresh kit per test file has. */
async function freshKit(): Promise<Kit> {
  vi.resetModules();
  return import('../../../labs/kit/index.ts');
}

describe('the kits of a run share one SQLite', () => {
  test("two fresh kits load sql.js once, and each one's databases work", async () => {
    let loads = 0;
    const configure = sharedSqlEngine(() => {
      loads++;
      return {};
    });
    const first = await freshKit();
    const second = await freshKit();
    expect(second).not.toBe(first);
    for (const kit of [first, second]) {
      configure(kit as unknown as KitSql);
      const cluster = new kit.Cluster();
      await cluster.addDatabase('db', { setup: "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x');" });
      expect(cluster.database('db').query('SELECT v FROM t')).toEqual([{ v: 'x' }]);
    }
    expect(loads).toBe(1);
  });

  test("closing a kit's databases frees them, and the shared engine still opens new ones", async () => {
    const configure = sharedSqlEngine(() => ({}));
    const kit = await freshKit();
    configure(kit as unknown as KitSql);
    const before = new kit.Cluster();
    await before.addDatabase('db', { setup: 'CREATE TABLE t (v INTEGER);' });
    closeKitDatabases(kit as unknown as Record<string, unknown>);
    // sql.js answers a closed database with SQLite's error for a missing handle.
    expect(() => before.database('db').query('SELECT v FROM t')).toThrow();
    // Closing twice is harmless (the runner closes after every file).
    closeKitDatabases(kit as unknown as Record<string, unknown>);
    const after = new kit.Cluster();
    await after.addDatabase('db', { setup: 'CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7);' });
    expect(after.database('db').query('SELECT v FROM t')).toEqual([{ v: 7 }]);
  });

  test('a load that failed is tried again by the next kit that asks', async () => {
    const engine = { name: 'engine' };
    let attempts = 0;
    const sources: Record<string, unknown>[] = [];
    const fakeKit = (): KitSql & { load(): Promise<unknown> } => {
      let load: (() => Promise<unknown>) | undefined;
      return {
        configureSqlWasm: (source) => void (load = source.load as () => Promise<unknown>),
        loadSqlJs: (source) => (sources.push(source), ++attempts === 1 ? Promise.reject(new Error('offline')) : Promise.resolve(engine)),
        load: () => load!(),
      };
    };
    const configure = sharedSqlEngine(() => ({ fresh: true }));
    const a = fakeKit();
    const b = fakeKit();
    configure(a);
    configure(b);
    await expect(a.load()).rejects.toThrow('offline');
    await expect(b.load()).resolves.toBe(engine);
    await expect(a.load()).resolves.toBe(engine);
    expect(attempts).toBe(2);
    // Each load gets options of its own: sql.js writes its callbacks into them.
    expect(sources[0]).not.toBe(sources[1]);
  });
});
