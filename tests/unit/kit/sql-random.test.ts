import { describe, expect, test } from 'vitest';
import { Cluster } from '@scale-lab/kit';

/** Rows of `t` on `db` after `work` runs on node app of a fresh cluster with `seed`; `setup` makes the database. */
async function rowsAfter(seed: number, setup: string, work: (db: import('@scale-lab/kit').SqlClient) => Promise<void>) {
  const cluster = new Cluster({ seed });
  await cluster.addReplicatedDatabase('db', { replicas: ['replica'], setup });
  cluster.addNode('app', (ctx) => async () => {
    await work(ctx.db);
    return new Response('ok');
  });
  expect(await (await cluster.fetch('http://app/')).text()).toBe('ok');
  await cluster.sleep(1000);
  const rows = (name: string) => cluster.database(name).query<{ r: number }>('SELECT r FROM t ORDER BY id').map((row) => row.r);
  return { primary: rows('db'), replica: rows('replica') };
}

describe("SQL's random() is the cluster's, however a statement reaches it", () => {
  /** Runs `work` under seeds 7, 7 and 8: the same seed must give the same numbers, on the primary and its replica; another seed, others. */
  async function expectSeeded(setup: string, work: Parameters<typeof rowsAfter>[2], rows: number) {
    const [a, b, other] = await Promise.all([rowsAfter(7, setup, work), rowsAfter(7, setup, work), rowsAfter(8, setup, work)]);
    expect(a.primary).toHaveLength(rows);
    expect(new Set(a.primary).size).toBe(rows);
    expect(b).toEqual(a);
    expect(a.replica).toEqual(a.primary);
    expect(other.primary).not.toEqual(a.primary);
  }

  test('through a column default made by the setup, outside and inside a transaction (a copy of the database)', async () => {
    // Neither INSERT names random(): the column default calls it.
    await expectSeeded('CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER DEFAULT (random()));', async (db) => {
      await db.run('INSERT INTO t (id) VALUES (1)');
      await db.transaction(async (tx) => {
        await tx.run('INSERT INTO t (id) VALUES (2)');
      });
    }, 2);
  });

  test('through a column default a later statement made, however it spells RANDOM ()', async () => {
    await expectSeeded('CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER);', async (db) => {
      await db.run('CREATE TABLE u (id INTEGER PRIMARY KEY, r INTEGER DEFAULT (RANDOM ()))');
      await db.transaction(async (tx) => {
        await tx.run('INSERT INTO u (id) VALUES (1), (2)');
      });
      await db.run('INSERT INTO u (id) VALUES (3)');
      await db.run('INSERT INTO t (id, r) SELECT id, r FROM u');
    }, 3);
  });

  test('a database whose SQL never names random() gets the same rows without it', async () => {
    const { primary, replica } = await rowsAfter(1, 'CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER);', async (db) => {
      await db.run('INSERT INTO t (id, r) VALUES (1, 10), (2, 20)');
      await db.transaction(async (tx) => {
        await tx.run('UPDATE t SET r = r + 1');
      });
    });
    expect(primary).toEqual([11, 21]);
    expect(replica).toEqual([11, 21]);
  });
});
