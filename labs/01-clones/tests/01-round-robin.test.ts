import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { APP_SERVERS, clonesCluster, clonesClusterOf, countServed, sendSequential } from './helpers.ts';

/** What is wrong with a split of 300 requests, in the reader's terms; empty when each server got 100. */
function splitProblem(counts: Map<string, number>): string {
  const split = APP_SERVERS.map((s) => `${s} ${counts.get(s) ?? 0}`).join(', ');
  const idle = APP_SERVERS.filter((s) => (counts.get(s) ?? 0) === 0);
  if (APP_SERVERS.every((s) => counts.get(s) === 100)) return '';
  if (idle.length === APP_SERVERS.length - 1) {
    const only = APP_SERVERS.find((s) => !idle.includes(s))!;
    return `every request went to ${only} (${split}): the balancer must move on to the next server for every request; round robin gives each of the three servers 100, in turn`;
  }
  if (idle.length > 0) {
    return `${idle.join(' and ')} received 0 of 300 requests (${split}): the rotation never reaches every server; wrap the index around with % servers.length`;
  }
  return `the 300 requests were split ${split}: a random pick evens out only on average; take turns, so each server gets exactly 100`;
}

test('300 requests through the balancer give each app server 100', async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  const statuses = await sendSequential(cluster, 300);
  const failed = statuses.filter((s) => s !== 200).length;
  expect(failed, `${failed} of 300 requests did not get a 200 answer`).toBe(0);
  evidence('the requests the balancer passed on, and which server got each', served.events);
  const counts = new Map(APP_SERVERS.map((s) => [s, served.of(s)]));
  const problem = splitProblem(counts);
  for (const server of APP_SERVERS) expect(served.of(server), problem).toBe(100);
});

test('the rotation is strict: consecutive requests go to different servers', async () => {
  const cluster = clonesCluster();
  const order: string[] = [];
  cluster.metrics.on((e) => {
    if (e.type === 'request' && e.from === 'lb' && e.path === '/') order.push(e.node);
  });
  await sendSequential(cluster, 6);
  evidence('the 6 requests in a row, and which server answered each', (e) => e.type === 'request' && e.from === 'lb' && e.path === '/');
  expect(order.join(' '), 'the servers that answered 6 requests in a row, in order; round robin visits each server once per turn').toMatch(/^(app-\d) (?!\1)(app-\d) (?!\1|\2)(app-\d) \1 \2 \3$/);
});

test('the rotation covers the servers it is given: with a fourth clone, each of four gets its turn', async () => {
  const four = ['app-1', 'app-2', 'app-3', 'app-4'];
  const cluster = clonesClusterOf(four);
  const served = countServed(cluster);
  const statuses = await sendSequential(cluster, 40);
  evidence('the 40 requests the balancer passed on, and which server got each', served.events);
  const split = four.map((s) => `${s} ${served.of(s)}`).join(', ');
  const failed = statuses.filter((s) => s !== 200).length;
  for (const server of four) {
    expect(served.of(server), `with four app servers behind the balancer, 40 requests were split ${split}${failed ? ` and ${failed} failed` : ''}: the rotation must cover the servers the balancer is given, not three fixed ones; wrap with % servers.length and take names from servers`).toBe(10);
  }
});
