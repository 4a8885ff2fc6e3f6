import { describe, expect, test } from 'vitest';
import { Cluster, QueueError, type NodeContext, type QueueOptions } from '@scale-lab/kit';

/** A cluster with queue `jobs` (1 ms an operation) and a node per script, each run on a request to it. */
function withQueue(options: QueueOptions, scripts: Record<string, (ctx: NodeContext) => Promise<string>>): Cluster {
  const cluster = new Cluster().addQueue('jobs', options);
  for (const [name, script] of Object.entries(scripts)) {
    cluster.addNode(name, (ctx) => async () => new Response(await script(ctx).catch((err: Error) => `${err.name}: ${err.message}`)));
  }
  return cluster;
}

async function call(cluster: Cluster, node: string): Promise<string> {
  return (await cluster.fetch(`http://${node}/`)).text();
}

describe('queue (SQS semantics)', () => {
  test('send, receive with a receive count, delete with the receipt', async () => {
    const cluster = withQueue({}, {
      producer: async (ctx) => ctx.queue('jobs').send('resize photo 7'),
      consumer: async (ctx) => {
        const [m] = await ctx.queue('jobs').receive();
        if (!m) return 'nothing';
        const deleted = await ctx.queue('jobs').delete(m.receipt);
        return `${m.id} ${m.body} #${m.receiveCount} deleted=${deleted} at ${ctx.now()}`;
      },
    });
    expect(await call(cluster, 'producer')).toBe('jobs-1');
    expect(await call(cluster, 'consumer')).toBe('jobs-1 resize photo 7 #1 deleted=true at 3');
    expect(await call(cluster, 'consumer')).toBe('nothing');
    expect(cluster.queue('jobs').stats()).toMatchObject({ depth: 0, inFlight: 0, sent: 1, received: 1, deleted: 1 });
  });

  test('a consumer killed mid-job leaves its message invisible until the visibility timeout, then it is delivered again', async () => {
    const cluster = withQueue({ visibilityTimeout: 1_000 }, {
      worker: async (ctx) => {
        const [m] = await ctx.queue('jobs').receive();
        if (!m) return `nothing at ${ctx.now()}`;
        await ctx.sleep(500);
        await ctx.queue('jobs').delete(m.receipt);
        return `${m.body} #${m.receiveCount} done at ${ctx.now()}`;
      },
    });
    cluster.queue('jobs').send('charge order 12');
    const first = cluster.fetch('http://worker/').catch((err: Error) => err.message);
    await cluster.run(async () => {
      await cluster.clock.sleep(100);
      cluster.restart('worker');
    });
    expect(await first).toBe('connection reset: worker went down');
    expect(cluster.queue('jobs').stats()).toMatchObject({ depth: 0, inFlight: 1 });
    expect(await call(cluster, 'worker')).toBe('nothing at 101');
    await cluster.sleep(899);
    expect(await call(cluster, 'worker')).toBe('charge order 12 #2 done at 1502');
  });

  test('a consumer slower than the visibility timeout cannot delete: the message went to another consumer', async () => {
    const receipts: string[] = [];
    const cluster = withQueue({ visibilityTimeout: 200 }, {
      slow: async (ctx) => {
        const [m] = await ctx.queue('jobs').receive();
        receipts.push(m!.receipt);
        await ctx.sleep(300);
        return `slow deleted=${await ctx.queue('jobs').delete(m!.receipt)}`;
      },
      fast: async (ctx) => {
        const [m] = await ctx.queue('jobs').receive({ wait: 1_000 });
        receipts.push(m!.receipt);
        return `fast #${m!.receiveCount} deleted=${await ctx.queue('jobs').delete(m!.receipt)} at ${ctx.now()}`;
      },
    });
    cluster.queue('jobs').send('send invoice');
    const answers = await cluster.run(() => Promise.all([call(cluster, 'slow'), cluster.clock.sleep(10).then(() => call(cluster, 'fast'))]));
    // Received at 1, visible again at 201: the long-polling fast consumer takes it then and deletes it at 202.
    expect(answers).toEqual(['slow deleted=false', 'fast #2 deleted=true at 202']);
    expect(receipts).toEqual(['jobs-1#1', 'jobs-1#2']);
  });

  test('changeVisibility keeps a long job hidden; a stale receipt is refused', async () => {
    const cluster = withQueue({ visibilityTimeout: 100 }, {
      worker: async (ctx) => {
        const jobs = ctx.queue('jobs');
        const [m] = await jobs.receive();
        for (let i = 0; i < 3; i++) {
          await ctx.sleep(80);
          await jobs.changeVisibility(m!.receipt, 100);
        }
        await jobs.delete(m!.receipt);
        return `done at ${ctx.now()}`;
      },
      stale: async (ctx) => {
        await ctx.queue('jobs').changeVisibility('jobs-1#1', 100);
        return 'changed';
      },
      peek: async (ctx) => `${(await ctx.queue('jobs').receive()).length} visible at ${ctx.now()}`,
    });
    cluster.queue('jobs').send('transcode');
    const [worker, peek] = await cluster.run(() => Promise.all([call(cluster, 'worker'), cluster.clock.sleep(150).then(() => call(cluster, 'peek'))]));
    expect([worker, peek]).toEqual(['done at 245', '0 visible at 151']);
    expect(await call(cluster, 'stale')).toBe('QueueError: receipt jobs-1#1 is not the latest receive of an in-flight message (it was received again, deleted, or became visible)');
  });

  test('long polling returns as soon as a message arrives, or empty when the wait ends; delayed messages stay hidden', async () => {
    const cluster = withQueue({}, {
      poller: async (ctx) => {
        const got = await ctx.queue('jobs').receive({ wait: 1_000, max: 10 });
        return `${got.map((m) => m.body).join(',') || 'none'} at ${ctx.now()}`;
      },
    });
    const pending = cluster.run(() => Promise.all([call(cluster, 'poller'), cluster.clock.sleep(300).then(() => cluster.queue('jobs').send('late'))]));
    expect((await pending)[0]).toBe('late at 300');
    cluster.queue('jobs').send('delayed', 2_000);
    expect(await call(cluster, 'poller')).toBe('none at 1301');
    expect(cluster.queue('jobs').stats()).toMatchObject({ depth: 0, delayed: 1, oldestAge: 1_001 });
    expect(await call(cluster, 'poller')).toBe('delayed at 2300');
  });

  test('after maxReceives, a message is moved to the dead-letter queue instead of delivered again', async () => {
    const cluster = withQueue({ visibilityTimeout: 10, maxReceives: 2, deadLetter: 'jobs-dlq' }, {
      crasher: async (ctx) => {
        const [m] = await ctx.queue('jobs').receive();
        return m ? `${m.body} #${m.receiveCount}` : 'nothing';
      },
    }).addQueue('jobs-dlq');
    cluster.queue('jobs').send('poison');
    expect(await call(cluster, 'crasher')).toBe('poison #1');
    await cluster.sleep(10);
    expect(await call(cluster, 'crasher')).toBe('poison #2');
    await cluster.sleep(10);
    expect(await call(cluster, 'crasher')).toBe('nothing');
    expect(cluster.queue('jobs').stats().deadLettered).toBe(1);
    expect(cluster.queue('jobs-dlq').bodies()).toEqual(['poison']);
  });

  test('a topic fans a message out to every subscribed queue', async () => {
    const cluster = new Cluster({ latency: 2 }).addQueue('emails').addQueue('analytics').addTopic('orders', ['emails', 'analytics']);
    cluster.addNode('shop', (ctx) => async () => new Response(`${await ctx.topic('orders').publish('order 42 placed')} queues at ${ctx.now()}`));
    expect(await call(cluster, 'shop')).toBe('2 queues at 6');
    await cluster.sleep(10);
    expect([cluster.queue('emails').bodies(), cluster.queue('analytics').bodies()]).toEqual([['order 42 placed'], ['order 42 placed']]);
  });

  test('bad arguments fail like SQS does', async () => {
    const cluster = withQueue({}, {
      greedy: async (ctx) => String(await ctx.queue('jobs').receive({ max: 11 })),
    });
    expect(await call(cluster, 'greedy')).toBe('QueueError: max must be a whole number from 1 to 10, not 11');
    expect(() => cluster.queue('jobs').send('x', -1)).toThrow(QueueError);
  });
});
