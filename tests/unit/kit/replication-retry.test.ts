import { expect, test } from 'vitest';
import { Cluster } from '@scale-lab/kit';

test('a replica whose old primary died while sending to it follows the promoted one, and semi-synchronous commits on the new primary are acknowledged', async () => {
  const cluster = new Cluster();
  const group = await cluster.addReplicatedDatabase('db', { setup: 'CREATE TABLE t (n INTEGER);', cost: 2, replicas: 2, sync: 1 });
  cluster.link('db', 'db-replica-2', { latency: 1500 });
  cluster.addNode('app', (ctx) => async (req) => {
    const to = new URL(req.url).searchParams.get('to')!;
    const { position } = await ctx.database(to).run('INSERT INTO t VALUES (1)');
    return new Response(`position ${position}`);
  });
  const write = async (to: string) => (await cluster.fetch(`http://app/?to=${to}`)).text();
  for (let i = 0; i < 3; i++) await write('db');
  // db-replica-2 has received nothing yet: db's stream to it is still on the 1.5 s link when db dies.
  cluster.kill('db');
  // Its sends fail as they arrive, and it waits to retry; it is mid-wait when db-replica-1 is promoted.
  await cluster.sleep(2000);
  group.promote('db-replica-1');
  expect(await write('db-replica-1')).toBe('position 4');
  await cluster.sleep(2000);
  expect(group.status().find((s) => s.node === 'db-replica-2')).toMatchObject({ primary: 'db-replica-1', received: 4, applied: 4 });
});
