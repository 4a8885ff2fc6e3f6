import { describe, expect, test } from 'vitest';
import { Cluster, SqlError, type NodeContext } from '@scale-lab/kit';

const SETUP = 'CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0);';

/** A cluster with the counter database (5 ms a statement) and one node per script, each run once on request. */
async function clusterWith(scripts: Record<string, (ctx: NodeContext) => Promise<string>>, options: { busyTimeout?: number; maxConnections?: number } = {}) {
  const cluster = new Cluster();
  await cluster.addDatabase('db', { setup: SETUP, cost: 5, ...options });
  for (const [name, script] of Object.entries(scripts)) {
    cluster.addNode(name, (ctx) => async () => {
      try {
        return new Response(await script(ctx));
      } catch (err) {
        const code = err instanceof SqlError ? err.code : 'error';
        return new Response(`${code} at ${ctx.now()}: ${(err as Error).message}`, { status: 500 });
      }
    });
  }
  return cluster;
}

/** Starts each named node's script `at` ms from now, all in one drive; returns their answers by name. */
async function runAt(cluster: Cluster, at: Record<string, number>): Promise<Record<string, string>> {
  const answers = await cluster.run(() => Promise.all(Object.entries(at).map(async ([name, delay]) => {
    await cluster.clock.sleep(delay);
    return [name, await (await cluster.fetch(`http://${name}/`)).text()] as const;
  })));
  return Object.fromEntries(answers);
}

const counter = (cluster: Cluster) => cluster.database().query<{ n: number }>('SELECT n FROM counter')[0]!.n;

describe('transactions per caller (SQLite WAL semantics)', () => {
  test('two workers each run BEGIN … COMMIT at once: the second writer waits for the lock, both commit', async () => {
    const increment = async (ctx: NodeContext) => {
      await ctx.db.run('BEGIN');
      await ctx.db.run('UPDATE counter SET n = n + 1');
      await ctx.sleep(100);
      await ctx.db.run('COMMIT');
      return `committed at ${ctx.now()}`;
    };
    const cluster = await clusterWith({ a: increment, b: increment });
    expect(await runAt(cluster, { a: 0, b: 10 })).toEqual({ a: 'committed at 115', b: 'committed at 220' });
    expect(counter(cluster)).toBe(2);
    expect(cluster.database().commits).toBe(2);
  });

  test('readers never wait and see the last commit; a transaction keeps the snapshot of its first read', async () => {
    const cluster = await clusterWith({
      writer: async (ctx) => {
        await ctx.db.run('BEGIN IMMEDIATE');
        await ctx.db.run('UPDATE counter SET n = 10');
        await ctx.sleep(100);
        await ctx.db.run('COMMIT');
        return `committed at ${ctx.now()}`;
      },
      reader: async (ctx) => {
        const seen: string[] = [];
        const read = async () => seen.push(`${(await ctx.db.query<{ n: number }>('SELECT n FROM counter'))[0]!.n}@${ctx.now()}`);
        await read();
        await ctx.db.run('BEGIN');
        await read();
        await ctx.sleep(200);
        await read();
        await ctx.db.run('COMMIT');
        await read();
        return seen.join(' ');
      },
    });
    // The writer commits at 115; the reader's transaction began reading at 20, so it still sees 0 at 225.
    expect(await runAt(cluster, { writer: 0, reader: 5 })).toEqual({ writer: 'committed at 115', reader: '0@10 0@20 0@225 10@235' });
  });

  test('a transaction that read before another commit and then writes gets SQLITE_BUSY', async () => {
    const cluster = await clusterWith({
      stale: async (ctx) => {
        await ctx.db.run('BEGIN');
        const [{ n }] = await ctx.db.query<{ n: number }>('SELECT n FROM counter') as [{ n: number }];
        await ctx.sleep(50);
        await ctx.db.run('UPDATE counter SET n = ?', [n + 1]);
        await ctx.db.run('COMMIT');
        return 'committed';
      },
      other: async (ctx) => {
        await ctx.db.run('UPDATE counter SET n = n + 100');
        return `committed at ${ctx.now()}`;
      },
    });
    expect(await runAt(cluster, { stale: 0, other: 20 })).toEqual({
      stale: 'SQLITE_BUSY at 65: database is locked (this transaction read before another connection committed, so it cannot write: roll back and retry)',
      other: 'committed at 25',
    });
    expect(counter(cluster)).toBe(100);
  });

  test('a writer waits at most the busy timeout (5 s by default) for the lock', async () => {
    const cluster = await clusterWith({
      hog: async (ctx) => {
        await ctx.db.run('BEGIN IMMEDIATE');
        await ctx.sleep(8_000);
        await ctx.db.run('ROLLBACK');
        return `rolled back at ${ctx.now()}`;
      },
      writer: async (ctx) => {
        await ctx.db.run('UPDATE counter SET n = 1');
        return 'written';
      },
    });
    const answers = await runAt(cluster, { hog: 0, writer: 100 });
    expect(answers.writer).toBe('SQLITE_BUSY at 5105: database is locked (another connection held the write lock for the whole busy timeout of 5000 ms)');
    expect(answers.hog).toBe('rolled back at 8010');
  });

  test('one connection per caller: two requests on one node that both BEGIN collide; transaction() gives each its own', async () => {
    const cluster = new Cluster();
    await cluster.addDatabase('db', { setup: SETUP, cost: 5 });
    cluster.addNode('shared', (ctx) => async () => {
      try {
        await ctx.db.run('BEGIN');
        await ctx.db.run('UPDATE counter SET n = n + 1');
        await ctx.db.run('COMMIT');
        return new Response('ok');
      } catch (err) {
        return new Response((err as Error).message, { status: 500 });
      }
    });
    cluster.addNode('own', (ctx) => async () => {
      await ctx.db.transaction(async (tx) => {
        await tx.run('UPDATE counter SET n = n + 1');
      });
      return new Response('ok');
    });
    const shared = await cluster.run(() => Promise.all([cluster.fetch('http://shared/'), cluster.fetch('http://shared/')]));
    expect(await Promise.all(shared.map((r) => r.text()))).toEqual(['ok', 'cannot start a transaction within a transaction']);
    const own = await cluster.run(() => Promise.all([cluster.fetch('http://own/'), cluster.fetch('http://own/')]));
    expect(own.map((r) => r.status)).toEqual([200, 200]);
    expect(counter(cluster)).toBe(3);
  });

  test('transaction() rolls back when its work throws; a caller that dies mid-transaction rolls back and frees the lock', async () => {
    const cluster = await clusterWith({
      failing: async (ctx) => {
        await ctx.db.transaction(async (tx) => {
          await tx.run('UPDATE counter SET n = 99');
          throw new Error('payment declined');
        });
        return 'unreachable';
      },
      dying: async (ctx) => {
        await ctx.db.run('BEGIN');
        await ctx.db.run('UPDATE counter SET n = 42');
        await ctx.sleep(1_000);
        return 'unreachable';
      },
      after: async (ctx) => {
        await ctx.db.run('UPDATE counter SET n = n + 1');
        return `written at ${ctx.now()}`;
      },
    });
    expect((await runAt(cluster, { failing: 0 })).failing).toBe('error at 15: payment declined');
    expect(counter(cluster)).toBe(0);
    const pending = cluster.run(() => runAt(cluster, { dying: 0, after: 20 }).catch((err: Error) => err.message));
    await cluster.run(async () => {
      await cluster.clock.sleep(100);
      cluster.kill('dying');
    });
    expect(await pending).toBe('connection reset: dying went down');
    expect(counter(cluster)).toBe(1);
  });

  test('an open transaction holds one of maxConnections until it ends', async () => {
    const cluster = await clusterWith({
      holder: async (ctx) => {
        await ctx.db.run('BEGIN');
        await ctx.db.query('SELECT n FROM counter');
        await ctx.sleep(100);
        await ctx.db.run('COMMIT');
        return `done at ${ctx.now()}`;
      },
      visitor: async (ctx) => {
        await ctx.db.query('SELECT n FROM counter');
        return `read at ${ctx.now()}`;
      },
    }, { maxConnections: 1 });
    const early = await runAt(cluster, { holder: 0, visitor: 50 });
    expect(early).toEqual({ holder: 'done at 115', visitor: 'error at 50: visitor → db: connection refused (too many connections: all 1 are in use)' });
    expect((await runAt(cluster, { visitor: 0 })).visitor).toBe('read at 120');
  });
});

describe('deterministic SQL', () => {
  test("random(), CURRENT_TIMESTAMP and datetime('now') follow the cluster's seed and clock", async () => {
    async function once(seed: number) {
      const cluster = new Cluster({ seed });
      await cluster.addDatabase('db', { setup: 'CREATE TABLE t (r INTEGER, at TEXT DEFAULT CURRENT_TIMESTAMP)', cost: 5 });
      cluster.addNode('app', (ctx) => async () => {
        await ctx.sleep(61_500);
        await ctx.db.run('INSERT INTO t (r) VALUES (random())');
        const [row] = await ctx.db.query<{ r: number; at: string; now: string }>("SELECT r, at, datetime('now') AS now FROM t");
        return Response.json(row);
      });
      return (await cluster.fetch('http://app/')).json() as Promise<{ r: number; at: string; now: string }>;
    }
    const a = await once(1);
    expect([a.at, a.now]).toEqual(['1970-01-01 00:01:01', '1970-01-01 00:01:01']);
    expect(Number.isSafeInteger(a.r)).toBe(true);
    expect((await once(1)).r).toBe(a.r);
    expect((await once(2)).r).not.toBe(a.r);
  });
});
