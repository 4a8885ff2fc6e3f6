import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { checksAnswered, clonesCluster, countChecks, countOrders, countServed, failedFromOutside, failOneCheck, flapOnEveryCheck, placeOrders, sendSequential, sendTimed } from './helpers.ts';

/** The promise of this step: a broken server is out of the rotation within 3 s, and back within 3 s of healing. */
const DETECTION_MS = 3000;
/** Checks in a row that the chapter's balancer needs to take a server out, or to bring it back. */
const THRESHOLD = 2;

test('no request fails when a server dies: it is retried on another server', async () => {
  const cluster = clonesCluster();
  await sendSequential(cluster, 3);
  cluster.kill('app-1');
  const statuses = await sendSequential(cluster, 30);
  const failed = statuses.filter((s) => s !== 200).length;
  evidence('requests that got no 200 answer', failedFromOutside);
  expect(failed, `${failed} of 30 requests failed right after app-1 went down, before any health check could notice; retry a request that fails on another server`).toBe(0);
  cluster.kill('app-2');
  const onlyOne = await sendSequential(cluster, 10);
  const failedOnOne = onlyOne.filter((s) => s !== 200).length;
  expect(failedOnOne, `${failedOnOne} of 10 requests failed with only app-3 up; while one server is up, every request should succeed: try every healthy server once before giving up`).toBe(0);
});

test('a server that starts failing between two health checks costs no request', async () => {
  const cluster = clonesCluster();
  await sendSequential(cluster, 3);
  cluster.fail('app-2', 500);
  const statuses = await sendSequential(cluster, 30);
  const failed = statuses.filter((s) => s !== 200).length;
  evidence('requests that got no 200 answer', failedFromOutside);
  expect(failed, `${failed} of 30 GET requests got an error in the moments after app-2 started answering 500, before a health check could notice: a GET that gets a 5xx is safe to repeat, so retry it on another server`).toBe(0);
});

test(`a failing server (HTTP 500) leaves the rotation within ${DETECTION_MS / 1000} s and comes back when healthy`, async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  const checks = countChecks(cluster, 'app-2');
  cluster.fail('app-2', 500);
  await cluster.sleep(DETECTION_MS);
  served.reset();
  const statuses = await sendSequential(cluster, 30);
  evidence('requests that got no 200 answer', failedFromOutside);
  expect(statuses.filter((s) => s !== 200).length, 'requests failed while app-2 was answering 500; retry them on another server').toBe(0);
  evidence('the 30 requests the balancer passed on while app-2 failed', served.events);
  expect(served.of('app-2'), `app-2 has answered every request with 500 for ${DETECTION_MS / 1000} s, yet it still received ${served.of('app-2')} of 30 requests; health checks on /health should take it out of the rotation`).toBe(0);

  cluster.recover('app-2');
  checks.reset();
  await cluster.sleep(DETECTION_MS);
  served.reset();
  await sendSequential(cluster, 30);
  evidence('the 30 requests after app-2 healed, and where the balancer sent them', served.events);
  expect(
    served.of('app-2'),
    checks.passed() >= THRESHOLD
      ? `app-2 passed ${checks.passed()} health checks after it healed, yet received ${served.of('app-2')} of 30 requests: once a server is back in the rotation, your picker must choose it again`
      : `app-2 has been healthy for ${DETECTION_MS / 1000} s but received ${served.of('app-2')} of 30 requests, and the balancer checked it ${checks.all()} times meanwhile; keep checking servers that are out, and put them back when /health answers 200`,
  ).toBeGreaterThanOrEqual(5);
});

test(`a killed server that comes back rejoins the rotation within ${DETECTION_MS / 1000} s`, async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  const checks = countChecks(cluster, 'app-3');
  cluster.kill('app-3');
  await cluster.sleep(DETECTION_MS);
  await sendSequential(cluster, 10);
  cluster.revive('app-3');
  checks.reset();
  await cluster.sleep(DETECTION_MS);
  served.reset();
  await sendSequential(cluster, 30);
  evidence('the 30 requests after app-3 restarted, and where the balancer sent them', served.events);
  expect(
    served.of('app-3'),
    checks.passed() >= THRESHOLD
      ? `app-3 restarted and passed ${checks.passed()} health checks, yet received ${served.of('app-3')} of 30 requests: once a server is back in the rotation, your picker must choose it again`
      : `app-3 restarted ${DETECTION_MS / 1000} s ago but received ${served.of('app-3')} of 30 requests, and the balancer checked it ${checks.all()} times meanwhile; a server that passes its health check again belongs back in the rotation`,
  ).toBeGreaterThanOrEqual(5);
});

test('a server that hangs costs each request at most one short wait, and leaves the rotation within 3 s', async () => {
  const cluster = clonesCluster();
  await sendSequential(cluster, 3);
  const hungAt = cluster.clock.now();
  // app-2 accepts connections and never answers: no refusal, no 5xx, only silence.
  cluster.hang('app-2');
  // Few enough that, each waiting out a forward timeout on app-2, they are done before 3 s have passed.
  const early = await sendTimed(cluster, 6);
  const slowest = Math.max(...early.map((a) => a.ms));
  expect(early.filter((a) => a.status !== 200).length, `requests failed while app-2 hung; a GET that gets no answer in time is safe to retry on another server`).toBe(0);
  expect(slowest, `a request waited ${slowest} ms for the hung app-2: forward with a timeout, e.g. ctx.forward(req, server, { signal: ctx.timeout(1000) }), so a server that never answers costs a retry, not the client's patience`).toBeLessThanOrEqual(2000);

  await cluster.sleep(Math.max(0, hungAt + DETECTION_MS - cluster.clock.now()));
  const later = await sendTimed(cluster, 30);
  const waited = later.filter((a) => a.ms >= 500);
  expect(waited.length, `${DETECTION_MS / 1000} s after app-2 hung, ${waited.length} of 30 requests still waited ${waited[0]?.ms ?? 0} ms each for it: a health check that never answers must count as failed, and soon; give each check a timeout well under the 1 s interval, e.g. ctx.fetch(url, { signal: ctx.timeout(500) })`).toBe(0);
});

test(`a server leaves after ${THRESHOLD} failed checks in a row, not after one`, async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  await sendSequential(cluster, 3);
  const blip = await failOneCheck(cluster, 'app-2');
  evidence('the health checks the balancer sent to app-2', (e) => e.type === 'request' && e.from === 'lb' && e.node === 'app-2' && e.path === '/health');
  expect(blip, 'the balancer sent no GET /health to app-2 for 3 s; check every server every second').toBe(true);
  served.reset();
  await sendSequential(cluster, 30);
  expect(served.of('app-2'), `app-2 failed a single health check, then answered 200 again, yet received ${served.of('app-2')} of the next 30 requests: one failed check can be a lost packet; take a server out only after ${THRESHOLD} failed checks in a row`).toBeGreaterThanOrEqual(5);

  // Another lost check, after good ones: failed checks count only in a row.
  await cluster.sleep(1500);
  expect(await failOneCheck(cluster, 'app-2'), 'the balancer sent no GET /health to app-2 for 3 s; check every server every second').toBe(true);
  served.reset();
  await sendSequential(cluster, 30);
  expect(served.of('app-2'), `app-2 failed one health check, passed the next ones, then failed one more, and received ${served.of('app-2')} of the next 30 requests: it left the rotation after 2 failed checks that were not in a row; a good check must reset the count of failures`).toBeGreaterThanOrEqual(5);
});

test(`a server that is out comes back after ${THRESHOLD} good checks in a row, so a flapping server stays out`, async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  cluster.fail('app-2', 500);
  await cluster.sleep(DETECTION_MS);
  // From now on app-2 passes every other check, and fails real requests half the time.
  flapOnEveryCheck(cluster, 'app-2');
  served.reset();
  for (let i = 0; i < 20; i++) {
    await sendSequential(cluster, 10);
    await cluster.sleep(300);
  }
  expect(served.of('app-2'), `app-2 is flapping (it passes only every other health check), yet it received ${served.of('app-2')} of 200 requests: put a server back only after ${THRESHOLD} good checks in a row, so one lucky check does not bring it back`).toBe(0);
});

test('a POST that timed out is not sent again: the slow server may have placed the order', async () => {
  const cluster = clonesCluster();
  const orders = countOrders(cluster);
  // app-2 still works, but every answer leaves 5 s late, longer than the balancer should wait.
  cluster.slow('app-2', 5000);
  await placeOrders(cluster, 6);
  await cluster.sleep(6000);
  evidence('every POST /orders a server received', (e) => e.type === 'request' && e.method === 'POST' && e.path === '/orders');
  expect(orders.receivedBy('app-2'), 'no POST /orders reached app-2, so this test could not see what the balancer does after a timeout; spread POSTs like every other request').toBeGreaterThan(0);
  const atSlow = orders.receivedBy('app-2');
  expect(orders.placed(), `${orders.placed()} orders were placed for 6 POST /orders: app-2 placed the ${atSlow === 1 ? 'one' : atSlow} it received, answered too late for the balancer, and the balancer sent ${atSlow === 1 ? 'it' : 'them'} to another server too. After a timeout, retry only idempotent requests (GET, PUT, DELETE); answer a POST with an error instead`).toBe(6);
});

test('a POST answered with a 5xx is passed on, not sent to another server', async () => {
  const cluster = clonesCluster();
  const orders = countOrders(cluster);
  cluster.fail('app-2', 503);
  await placeOrders(cluster, 6);
  evidence('every POST /orders a server received', (e) => e.type === 'request' && e.method === 'POST' && e.path === '/orders');
  expect(orders.receivedBy('app-2'), 'no POST /orders reached app-2, so this test could not see what the balancer does after a 5xx; spread POSTs like every other request').toBeGreaterThan(0);
  expect(orders.received(), `6 POST /orders reached the servers ${orders.received()} times: app-2 answered 503 and the balancer sent the same POST again. A server can fail after it applied a POST, so pass a 5xx answer to a POST on to the client`).toBe(6);
});

test('a POST whose connection was refused is retried: it never reached the server', async () => {
  const cluster = clonesCluster();
  await sendSequential(cluster, 3);
  cluster.kill('app-2');
  const statuses = await placeOrders(cluster, 6);
  const failed = statuses.filter((s) => s !== 201).length;
  expect(failed, `${failed} of 6 POST /orders failed right after app-2 went down: a refused connection means the server never saw the request, so even a POST is safe to send to another server`).toBe(0);
});

test(`a server leaves at its ${THRESHOLD}nd failed check in a row and comes back at its ${THRESHOLD}nd good one, not one later`, async () => {
  const cluster = clonesCluster();
  const served = countServed(cluster);
  await sendSequential(cluster, 3);
  cluster.fail('app-2', 500);
  expect(await checksAnswered(cluster, 'app-2', THRESHOLD, false), `app-2 answered 500 for 5 s and the balancer checked it fewer than ${THRESHOLD} times; check every server every second`).toBe(true);
  served.reset();
  await sendSequential(cluster, 30);
  evidence('the health checks of app-2, and the requests the balancer passed on', (e) => e.type === 'request' && e.from === 'lb');
  expect(served.of('app-2'), `app-2 had failed ${THRESHOLD} health checks in a row, yet received ${served.of('app-2')} of the next 30 requests: take a server out at its ${THRESHOLD}nd failed check (a count that reaches ${THRESHOLD}, >= not >), not one check later`).toBe(0);

  cluster.recover('app-2');
  expect(await checksAnswered(cluster, 'app-2', THRESHOLD, true), `app-2 healed, and the balancer checked it fewer than ${THRESHOLD} times in 5 s; keep checking servers that are out, every second`).toBe(true);
  served.reset();
  await sendSequential(cluster, 30);
  expect(served.of('app-2'), `app-2 healed and passed ${THRESHOLD} health checks in a row, yet received ${served.of('app-2')} of the next 30 requests: put a server back at its ${THRESHOLD}nd good check, not one check later`).toBeGreaterThanOrEqual(5);
});

test('a POST whose connection was reset is not sent again: the server may have placed the order', async () => {
  const cluster = clonesCluster();
  const orders = countOrders(cluster);
  // app-2 places its first order, and dies before its answer leaves: the balancer sees a reset.
  cluster.slow('app-2', 200);
  let died = false;
  cluster.metrics.on((event) => {
    if (!died && event.type === 'request' && event.node === 'app-2' && event.method === 'POST' && event.path === '/orders') {
      died = true;
      cluster.kill('app-2');
    }
  });
  await placeOrders(cluster, 6);
  evidence('every POST /orders a server received', (e) => e.type === 'request' && e.method === 'POST' && e.path === '/orders');
  expect(died, 'no POST /orders reached app-2, so this test could not see what the balancer does after a reset; spread POSTs like every other request').toBe(true);
  expect(orders.placed(), `${orders.placed()} orders were placed for 6 POST /orders: app-2 placed one and died before its answer left, so the connection was reset, and the balancer sent the same POST to another server. A reset, like a timeout, comes after the request was sent; retry a POST only when the connection was refused`).toBe(6);
});

test('with every server down, a request gets an error at once, not an endless wait', async () => {
  const cluster = clonesCluster();
  await sendSequential(cluster, 3);
  for (const server of ['app-1', 'app-2', 'app-3']) cluster.kill(server);
  const start = cluster.clock.now();
  let status = 0;
  try {
    status = (await cluster.fetch('http://lb/', { signal: cluster.timeout(10_000) })).status;
  } catch {
    status = 0;
  }
  const waited = cluster.clock.now() - start;
  evidence('what the balancer sent with every server down', (e) => e.type === 'failed' || (e.type === 'answered' && e.from === 'client'));
  expect(status === 0 ? 'no answer' : status >= 500 ? 'an error' : `status ${status}`, `with every app server down, GET / got no answer for ${waited / 1000} s: once every server has been tried, answer the client with an error (e.g. 503) instead of trying again and again`).toBe('an error');
  expect(waited, `with every app server down, GET / waited ${waited} ms for its error: once every server has been tried, answer at once (e.g. 503)`).toBeLessThanOrEqual(2000);
});
