import { expect, test } from 'vitest';
import { clonesCluster, countServed, sendSequential } from './helpers.ts';

/** The promise of this step: a broken server is out of the rotation within 3 s, and back within 3 s of healing. */
const DETECTION_MS = 3000;

test('no request fails when a server dies: it is retried on another server', async () => {
  const cluster = clonesCluster();
  await sendSequential(cluster, 3);
  cluster.kill('app-1');
  const statuses = await sendSequential(cluster, 30);
  const failed = statuses.filter((s) => s !== 200).length;
  expect(failed, `${failed} of 30 requests failed right after app-1 went down, before any health check could notice; retry a request that fails on another server`).toBe(0);
  cluster.kill('app-2');
  const onlyOne = await sendSequential(cluster, 10);
  const failedOnOne = onlyOne.filter((s) => s !== 200).length;
  expect(failedOnOne, `${failedOnOne} of 10 requests failed with only app-3 up; while one server is up, every request should succeed`).toBe(0);
});

test(`a failing server (HTTP 500) leaves the rotation within ${DETECTION_MS / 1000} s and comes back when healthy`, async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  cluster.fail('app-2', 500);
  await cluster.sleep(DETECTION_MS);
  served.reset();
  const statuses = await sendSequential(cluster, 30);
  expect(statuses.filter((s) => s !== 200).length, 'requests failed while app-2 was answering 500; retry them on another server').toBe(0);
  expect(served.of('app-2'), `app-2 has answered every request with 500 for ${DETECTION_MS / 1000} s, yet it still received ${served.of('app-2')} of 30 requests; health checks on /health should take it out of the rotation`).toBe(0);

  cluster.recover('app-2');
  await cluster.sleep(DETECTION_MS);
  served.reset();
  await sendSequential(cluster, 30);
  expect(served.of('app-2'), `app-2 has been healthy for ${DETECTION_MS / 1000} s but received ${served.of('app-2')} of 30 requests; keep checking servers that are out, and put them back when /health answers 200`).toBeGreaterThanOrEqual(5);
});

test(`a killed server that comes back rejoins the rotation within ${DETECTION_MS / 1000} s`, async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  cluster.kill('app-3');
  await cluster.sleep(DETECTION_MS);
  await sendSequential(cluster, 10);
  cluster.revive('app-3');
  await cluster.sleep(DETECTION_MS);
  served.reset();
  await sendSequential(cluster, 30);
  expect(served.of('app-3'), `app-3 restarted ${DETECTION_MS / 1000} s ago but received ${served.of('app-3')} of 30 requests; a server that passes its health check again belongs back in the rotation`).toBeGreaterThanOrEqual(5);
});
