import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { APP_SERVERS, clonesCluster, countServed, sendSequential } from './helpers.ts';

test('with one slow server, new requests go to the least busy servers', async () => {
  const cluster = clonesCluster();
  // app-3 is far away: 100 ms each way, while the others answer in about 10 ms.
  cluster.link('lb', 'app-3', { latency: 100 });
  const served = countServed(cluster);
  const report = await cluster.load({ target: 'http://lb/', requests: 300, concurrency: 12 });
  expect(report.failed, `${report.failed} of 300 requests failed`).toBe(0);
  evidence('the 300 requests the balancer passed on, and which server got each', served.events);
  const slow = served.of('app-3');
  expect(slow, `the slow server app-3 received ${slow} of 300 requests while its requests piled up; least connections sends each new request to the server with the fewest in flight, so app-3 should get under 40`).toBeLessThan(40);
});

test('ties rotate: with all servers idle, requests still go round robin', async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  await sendSequential(cluster, 30);
  evidence('the 30 requests the balancer passed on, and which server got each', served.events);
  for (const server of APP_SERVERS) {
    expect(served.of(server), `${server} received ${served.of(server)} of 30 sequential requests; when every server has 0 in flight, break the tie in turn`).toBe(10);
  }
});

test('after failed requests, the counts in flight are right again: a restarted server gets its share, no more', async () => {
  const cluster = clonesCluster();
  cluster.kill('app-2');
  await sendSequential(cluster, 10);
  cluster.revive('app-2');
  await cluster.sleep(3000);
  const served = countServed(cluster);
  await sendSequential(cluster, 30);
  evidence('the 30 requests after app-2 came back, and which server got each', served.events);
  const got = served.of('app-2');
  const why =
    got < 10
      ? `app-2 restarted and passes its checks, but received only ${got} of 30 sequential requests to idle servers: its count of requests in flight never came down after the attempts that failed on it; subtract one in a finally block, so a failure releases it too`
      : `app-2 restarted and received ${got} of 30 sequential requests to idle servers, more than its turn: its count of requests in flight went below zero after the attempts that failed on it; subtract exactly once per attempt, in finally`;
  for (const server of APP_SERVERS) expect(served.of(server), why).toBe(10);
});
