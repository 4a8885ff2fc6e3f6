import { expect, test } from 'vitest';
import { APP_SERVERS, clonesCluster, countServed, sendSequential } from './helpers.ts';

test('300 requests through the balancer give each app server 100', async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  const statuses = await sendSequential(cluster, 300);
  const failed = statuses.filter((s) => s !== 200).length;
  expect(failed, `${failed} of 300 requests did not get a 200 answer`).toBe(0);
  for (const server of APP_SERVERS) {
    expect(served.of(server), `${server} received ${served.of(server)} of 300 requests; round robin gives each of the three servers 100, in turn`).toBe(100);
  }
});

test('the rotation is strict: consecutive requests go to different servers', async () => {
  const cluster = clonesCluster();
  const order: string[] = [];
  cluster.metrics.on((e) => {
    if (e.type === 'request' && e.from === 'lb' && e.path === '/') order.push(e.node);
  });
  await sendSequential(cluster, 6);
  expect(order.join(' '), 'the servers that answered 6 requests in a row, in order; round robin visits each server once per turn').toMatch(/^(app-\d) (?!\1)(app-\d) (?!\1|\2)(app-\d) \1 \2 \3$/);
});
