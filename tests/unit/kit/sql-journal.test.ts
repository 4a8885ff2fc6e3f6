import { describe, expect, test } from 'vitest';
import { Cluster, SqlError } from '@scale-lab/kit';

const SETUP = 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE); INSERT INTO items VALUES (1, \'a\'), (2, \'b\');';

const names = (cluster: Cluster, db = 'db') => cluster.database(db).query<{ name: string }>('SELECT name FROM items ORDER BY id').map((r) => r.name);
const pragma = (cluster: Cluster, name: string, db = 'db') => Object.values(cluster.database(db).query(`PRAGMA ${name}`)[0]!)[0];

describe('SQL databases keep their journal in memory (sql.js stores each database in an in-memory file)', () => {
  test('a new database, and the copy a transaction commits, journal in memory and hold their file alone', async () => {
    const cluster = new Cluster();
    await cluster.addDatabase('db', { setup: SETUP });
    expect([pragma(cluster, 'journal_mode'), pragma(cluster, 'locking_mode'), pragma(cluster, 'synchronous')]).toEqual(['memory', 'exclusive', 0]);
    cluster.addNode('app', (ctx) => async () => {
      await ctx.db.transaction(async (tx) => {
        await tx.run("INSERT INTO items (name) VALUES ('c')");
      });
      return new Response('ok');
    });
    expect(await (await cluster.fetch('http://app/')).text()).toBe('ok');
    // The transaction worked on a copy of the database, which is now the last commit.
    expect(names(cluster)).toEqual(['a', 'b', 'c']);
    expect([pragma(cluster, 'journal_mode'), pragma(cluster, 'locking_mode')]).toEqual(['memory', 'exclusive']);
  });

  test('a statement that fails half-way changes nothing, inside a transaction or not, and replicas hold the same rows', async () => {
    const cluster = new Cluster();
    await cluster.addReplicatedDatabase('db', { replicas: ['replica'], setup: SETUP });
    cluster.addNode('app', (ctx) => async () => {
      const errors: string[] = [];
      // The third row collides with 'a' after two rows went in: the statement journal undoes those two.
      const failing = "INSERT INTO items (name) VALUES ('x'), ('y'), ('a')";
      await ctx.db.run(failing).catch((err: SqlError) => errors.push(err.message));
      await ctx.db.transaction(async (tx) => {
        await tx.run("INSERT INTO items (name) VALUES ('c')");
        await tx.run(failing).catch((err: SqlError) => errors.push(err.message));
        await tx.run("INSERT INTO items (name) VALUES ('d')");
      });
      await ctx.db.transaction(async (tx) => {
        await tx.run("INSERT INTO items (name) VALUES ('e')");
        throw new Error('changed my mind');
      }).catch(() => {});
      return Response.json(errors);
    });
    const errors = (await (await cluster.fetch('http://app/')).json()) as string[];
    expect(errors).toHaveLength(2);
    for (const error of errors) expect(error).toMatch(/UNIQUE constraint failed/);
    expect(names(cluster)).toEqual(['a', 'b', 'c', 'd']);
    await cluster.sleep(1000);
    expect(names(cluster, 'replica')).toEqual(['a', 'b', 'c', 'd']);
  });
});
