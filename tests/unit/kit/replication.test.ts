import { describe, expect, test } from 'vitest';
import { Cluster, SqlError, type DatabaseOptions, type ReplicationOptions } from '@scale-lab/kit';

const SETUP = 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, token INTEGER, at TEXT DEFAULT CURRENT_TIMESTAMP);';

/**
 * db (primary) and its replicas, 5 ms a statement, 20 ms links between them; `app` writes on
 * POST /write?body=…, reads a member on GET /read?from=<node>.
 */
async function replicated(options: Partial<ReplicationOptions> & DatabaseOptions = {}) {
  const cluster = new Cluster();
  const group = await cluster.addReplicatedDatabase('db', { setup: SETUP, cost: 5, replicas: 2, ...options });
  for (const replica of ['db-replica-1', 'db-replica-2']) cluster.link('db', replica, { latency: 20 });
  cluster.addNode('app', (ctx) => async (req) => {
    const url = new URL(req.url);
    try {
      if (req.method === 'POST') {
        const to = url.searchParams.get('to') ?? 'db';
        const { position } = await ctx.database(to).run('INSERT INTO notes (body, token) VALUES (?, random())', [url.searchParams.get('body')]);
        return new Response(`position ${position} at ${ctx.now()}`);
      }
      const rows = await ctx.database(url.searchParams.get('from') ?? 'db').query<{ body: string }>('SELECT body FROM notes ORDER BY id');
      return new Response(rows.map((r) => r.body).join(',') || '(none)');
    } catch (err) {
      return new Response(`${err instanceof SqlError ? err.code : 'error'}: ${(err as Error).message}`, { status: 500 });
    }
  });
  const write = async (body: string, to = 'db') => (await cluster.fetch(`http://app/write?body=${body}&to=${to}`, { method: 'POST' })).text();
  const read = async (from: string) => (await cluster.fetch(`http://app/read?from=${from}`)).text();
  const positions = () => group.status().map((s) => `${s.node} ${s.received}/${s.applied}`);
  return { cluster, group, write, read, positions };
}

describe('replication', () => {
  test('a replica lags by link latency plus apply time; every write has a position', async () => {
    const { cluster, group, write, read, positions } = await replicated();
    expect(await write('a')).toBe('position 1 at 5');
    // At 5 the replica has not received it; the read reaches it at 5 and answers at 10.
    expect(await read('db-replica-1')).toBe('(none)');
    expect(positions()).toEqual(['db 1/1', 'db-replica-1 0/0', 'db-replica-2 0/0']);
    await cluster.sleep(15);
    // Received at 25, applied at 30.
    expect(positions()).toEqual(['db 1/1', 'db-replica-1 1/0', 'db-replica-2 1/0']);
    expect(group.status()[1]!.lag).toBe(20);
    await cluster.sleep(5);
    expect(positions()).toEqual(['db 1/1', 'db-replica-1 1/1', 'db-replica-2 1/1']);
    expect(await read('db-replica-1')).toBe('a');
    // The replica replayed the write with the primary's time and random numbers.
    const row = 'SELECT token, at FROM notes';
    expect(cluster.database('db-replica-2').query(row)).toEqual(cluster.database('db').query(row));
  });

  test('replicas refuse writes', async () => {
    const { write } = await replicated();
    expect(await write('x', 'db-replica-1')).toBe('SQLITE_READONLY: attempt to write a readonly database (this is a replica: send writes to the primary)');
  });

  test('a write burst grows the lag on a replica with one core; pause and resume make a lag spike', async () => {
    const { cluster, group, write, positions } = await replicated({ cores: 1, applyCost: 10 });
    await cluster.run(() => Promise.all(['a', 'b', 'c', 'd', 'e'].map((body) => write(body))));
    // Five commits at 5, 10, 15, 20, 25 on the primary's one core; the replicas apply one per 10 ms.
    expect(cluster.clock.now()).toBe(25);
    await cluster.sleep(25);
    expect(positions()).toEqual(['db 5/5', 'db-replica-1 5/2', 'db-replica-2 5/2']);
    group.pause('db-replica-1');
    await cluster.sleep(100);
    expect(positions()).toEqual(['db 5/5', 'db-replica-1 5/3', 'db-replica-2 5/5']);
    // Position 4, committed at 20, is still not applied at 150.
    expect(group.status()[1]).toMatchObject({ paused: true, lag: 130 });
    group.resume('db-replica-1');
    await cluster.sleep(20);
    expect(positions()).toEqual(['db 5/5', 'db-replica-1 5/5', 'db-replica-2 5/5']);
  });

  test('semi-synchronous: a commit is acknowledged once K replicas have received it', async () => {
    const { cluster, write } = await replicated({ sync: 1 });
    cluster.link('db', 'db-replica-2', { latency: 200 });
    // Committed at 5, received by replica-1 at 25, the primary hears so at 45.
    expect(await write('a')).toBe('position 1 at 45');
    const both = await replicated({ sync: 2 });
    both.cluster.link('db', 'db-replica-2', { latency: 200 });
    expect(await both.write('a')).toBe('position 1 at 405');
  });

  test('a killed primary loses what no replica received; promote() makes a replica the primary, the others follow it', async () => {
    const { cluster, group, write, read, positions } = await replicated();
    await write('a');
    await cluster.sleep(30);
    expect(await write('b')).toBe('position 2 at 40');
    cluster.kill('db');
    group.promote('db-replica-1');
    expect(group.primary).toBe('db-replica-1');
    expect(await write('c', 'db-replica-1')).toBe('position 2 at 45');
    await cluster.sleep(30);
    expect(await read('db-replica-2')).toBe('a,c');
    expect(positions()).toEqual(['db-replica-1 2/2', 'db 2/2', 'db-replica-2 2/2']);
    // The old primary comes back as it was: it still has b, and still takes writes (fencing it is the reader's job).
    cluster.revive('db');
    expect(await read('db')).toBe('a,b');
    expect(await write('d', 'db')).toBe(`position 3 at ${cluster.clock.now()}`);
  });
});
