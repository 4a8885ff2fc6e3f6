// The Asynchronism chapter's idempotent consumer (awardPoints), taken from the chapter as written,
// runs on the kit: one job delivered to two workers at once is applied once, and two jobs running
// at once on one worker do not share a connection.
import { readFileSync } from 'node:fs';
import { transform } from 'sucrase';
import { expect, test } from 'vitest';
import { Cluster, type NodeContext } from '@scale-lab/kit';

type AwardPoints = (job: { key: string; userId: number; points: number }) => Promise<void>;

const chapter = readFileSync(new URL('../../src/content/docs/chapters/04-asynchronism.mdx', import.meta.url), 'utf8');
const example = [...chapter.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.includes('function awardPoints'));

/** The chapter's code, compiled once per node: `ctx` is that node's context. */
function awardPointsFor(ctx: NodeContext): AwardPoints {
  const exports: { awardPoints?: AwardPoints } = {};
  const { code } = transform(example!, { transforms: ['typescript', 'imports'] });
  new Function('ctx', 'exports', code)(ctx, exports);
  return exports.awardPoints!;
}

async function cluster(): Promise<Cluster> {
  const c = new Cluster({ latency: 1 });
  await c.addDatabase('db', { setup: 'CREATE TABLE users (id INTEGER PRIMARY KEY, points INTEGER NOT NULL); CREATE TABLE processed_jobs (job_key TEXT PRIMARY KEY); INSERT INTO users VALUES (1, 0);' });
  for (const name of ['worker-1', 'worker-2']) {
    c.addNode(name, (ctx) => {
      const awardPoints = awardPointsFor(ctx);
      return async (req) => {
        await awardPoints(await req.json());
        return new Response('ok');
      };
    });
  }
  return c;
}

const post = (c: Cluster, node: string, job: object) => c.fetch(`http://${node}/`, { method: 'POST', body: JSON.stringify(job) }).then((r) => r.status);
const points = (c: Cluster) => c.database('db').query<{ points: number }>('SELECT points FROM users WHERE id = 1')[0]!.points;

test('the chapter has the example', () => {
  expect(example).toContain('ctx.db.transaction');
});

test('one job delivered to two workers at once is applied once', async () => {
  const c = await cluster();
  const job = { key: 'order-1234:award-points', userId: 1, points: 10 };
  expect(await c.run(() => Promise.all([post(c, 'worker-1', job), post(c, 'worker-2', job)]))).toEqual([200, 200]);
  expect(points(c)).toBe(10);
  expect(await post(c, 'worker-2', job)).toBe(200);
  expect(points(c)).toBe(10);
});

test('two jobs at once on one worker each run in a transaction of their own', async () => {
  const c = await cluster();
  const statuses = await c.run(() => Promise.all([
    post(c, 'worker-1', { key: 'order-1:award-points', userId: 1, points: 10 }),
    post(c, 'worker-1', { key: 'order-2:award-points', userId: 1, points: 5 }),
  ]));
  expect(statuses).toEqual([200, 200]);
  expect(points(c)).toBe(15);
});
