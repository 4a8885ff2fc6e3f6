import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { QUEUE } from '../starter/report.ts';
import { APP_SERVERS, WORKERS, accepted, asyncCluster, enqueue, expectedReport, isCall, isExportsMessage, isStoreOpBy, postExport, statusFrom, waitForDone } from './helpers.ts';

/** The promise of this step: the POST answers within this long, though rendering takes 2 s. */
const ANSWER_WITHIN_MS = 50;

test(`POST /reports answers 202 Accepted with a status URL within ${ANSWER_WITHIN_MS} ms, though a report takes 2 s to render`, async () => {
  const cluster = await asyncCluster();
  const res = await postExport(cluster, { customer: 'acme', month: '2026-10' });
  evidence('the POST /reports, through the balancer to a clone, and what the clone did before answering', (e) => isCall('POST', '/reports')(e) || isStoreOpBy(APP_SERVERS)(e) || isExportsMessage(e));
  expect(res.took, `POST /reports answered ${res.status} after ${res.took} ms (at most ${ANSWER_WITHIN_MS} ms allowed): the report was rendered inside the request, so the client waited for it; put the job on the queue (ctx.queue('exports').send) and answer 202 at once`).toBeLessThanOrEqual(ANSWER_WITHIN_MS);
  expect(res.status, `POST /reports answered ${res.status} ${JSON.stringify(res.body)}: a job that is queued, not finished, is answered 202 Accepted`).toBe(202);
  expect(res.location, 'POST /reports answered 202 without a Location header: point it at the job\'s status URL, /reports/jobs/<id>').toMatch(/^(https?:\/\/[^/]+)?\/reports\/jobs\/\S+/);
});

test('a job accepted by a clone far from kv answers on every clone at once, and jobs accepted after every clone restarted get ids of their own', async () => {
  const cluster = await asyncCluster();
  const before = await cluster.run(() => Promise.all(APP_SERVERS.map((_, i) => accepted(cluster, { customer: 'acme', month: `2025-0${i + 1}` }))));
  // Once the clones are idle, every clone restarts: whatever it counted in memory starts again.
  await cluster.sleep(5000);
  for (const clone of APP_SERVERS) cluster.restart(clone);
  await cluster.sleep(1000);
  const after = await cluster.run(() => Promise.all(APP_SERVERS.map((_, i) => accepted(cluster, { customer: 'globex', month: `2025-0${i + 1}` }))));
  const reused = after.filter((location) => before.includes(location));
  evidence('the POST /reports before and after the restarts, and the key-value commands the clones sent for them', (e) => isCall('POST', '/reports')(e) || (e.type === 'kv' && APP_SERVERS.includes(e.from)));
  expect(reused, `after every clone restarted, new exports got the status URLs ${reused.join(', ')}, which jobs accepted before the restart already had: the new jobs' statuses overwrite the old ones. A counter in a clone's memory starts again after a restart, even with the clone's name in the id: let kv count (INCR)`).toEqual([]);

  // app-1 is now 40 ms from kv; the other clones are next to it.
  cluster.link('app-1', 'kv', { latency: 40 });
  const res = await cluster.fetch('http://app-1/reports', { method: 'POST', body: JSON.stringify({ customer: 'initech', month: '2025-09' }) });
  const location = res.headers.get('location')?.replace(/^https?:\/\/[^/]+/, '') ?? '';
  expect(res.status, `POST /reports on app-1 answered ${res.status}`).toBe(202);
  const codes = await cluster.run(() => Promise.all(['app-2', 'app-3'].map((clone) => statusFrom(cluster, clone, location))));
  const missing = codes.findIndex(({ code }) => code !== 200);
  if (missing >= 0) evidence(`the POST to app-1, its key-value commands, and the GET ${location} right after`, (e) => isCall('POST', '/reports')(e) || isCall('GET', location)(e) || e.type === 'kv');
  expect(missing, `right after app-1 answered 202 for ${location}, app-${missing + 2} answered ${codes[missing]?.code} for it: app-1 answered before its "queued" status had reached kv (a write not awaited?), so the status URL it handed out did not answer yet; await the write before answering`).toBe(-1);
});

test('while the queue cannot take the job, POST /reports does not answer 202', async () => {
  const cluster = await asyncCluster();
  cluster.kill(QUEUE);
  const res = await postExport(cluster, { customer: 'hooli', month: '2025-11' });
  cluster.revive(QUEUE);
  evidence(`the POST /reports while ${QUEUE} was down, and what the clone sent`, (e) => isCall('POST', '/reports')(e) || isExportsMessage(e) || (e.type === 'kv' && APP_SERVERS.includes(e.from)));
  expect(res.status, `with ${QUEUE} down, POST /reports answered ${res.status}: the client was told its job was accepted, yet no worker will ever see it, and its status says "queued" for ever. Await the send, and answer 202 only once the queue has the job (a failed send is an error, 5xx, that the client can retry)`).not.toBe(202);
});

test('the status URL answers on every clone, while the job waits or runs and once it is done, and workers render the reports', async () => {
  const cluster = await asyncCluster();
  const requests = [{ customer: 'acme', month: '2026-03' }, { customer: 'globex', month: '2026-03' }, { customer: 'initech', month: '2026-04' }];
  // Three exports already keep every worker busy, so the jobs below wait in the queue for a while.
  enqueue(cluster, [{ customer: 'hooli', month: '2026-01' }, { customer: 'stark', month: '2026-01' }, { customer: 'wayne', month: '2026-01' }], 'job-busy-');
  await cluster.sleep(100);
  // At the same moment, through the balancer, so each POST lands on another clone.
  const locations = await cluster.run(() => Promise.all(requests.map((request) => accepted(cluster, request))));
  evidence('the three POST /reports sent at once, and the key-value commands the clones sent for them', (e) => isCall('POST', '/reports')(e) || (e.type === 'kv' && APP_SERVERS.includes(e.from)));
  expect(new Set(locations).size, `three exports sent at the same moment got the status URLs ${locations.join(', ')}: two jobs share an id, so one's status overwrites the other's. Ids counted in each clone's memory collide across clones, ids from the clock collide when requests come at once, and a GET then a SET of a counter lets two clones read the same number: let kv count (INCR), in one command`).toBe(3);

  for (const [i, location] of locations.entries()) {
    const codes = await cluster.run(() => Promise.all(APP_SERVERS.map((clone) => statusFrom(cluster, clone, location))));
    // Named only when an assertion below fails, so that the events it names are those up to now.
    if (codes.some(({ code, body }) => code !== 200 || !['queued', 'running'].includes(body.status!))) {
      evidence(`the GET ${location} each clone answered, and the key-value commands behind the status`, (e) => (isCall('GET', location)(e)) || (e.type === 'kv' && APP_SERVERS.includes(e.from)));
    }
    for (const [c, clone] of APP_SERVERS.entries()) {
      const { code, body } = codes[c]!;
      expect(code, codes.every((o) => o.code === 404)
        ? `every clone answered 404 for ${location}, the status URL app-${i + 1}'s POST handed out, while its job waited in the queue behind others: write the job's status ("queued") in kv before answering 202, so the URL answers from the moment the client has it`
        : `${clone} answered ${code} for ${location}, the status URL app-${i + 1}'s POST handed out: the status lives in one clone's memory; keep it in kv, which every clone reads`).toBe(200);
      expect(['queued', 'running'], `right after the POST, ${clone} said ${location} is ${JSON.stringify(body.status)}: a job just accepted is "queued" (or "running" once a worker took it)`).toContain(body.status);
    }
  }

  const final = await waitForDone(cluster, locations, 30_000);
  evidence('the jobs\' messages in exports: who sent, received and deleted each', isExportsMessage);
  for (const [i, location] of locations.entries()) {
    const request = requests[i]!;
    for (const clone of APP_SERVERS) {
      const { code, body } = clone === APP_SERVERS[0] ? { code: 200, body: final.get(location)! } : await statusFrom(cluster, clone, location);
      expect(code, `once the job was done, ${clone} answered ${code} for ${location}`).toBe(200);
      expect(body.status, `30 s after the export of ${request.customer} for ${request.month} was accepted, ${clone} says its job is ${JSON.stringify(body.status)}, not "done": a worker must take it from the queue, render it and write "done" with the report where every clone reads the status`).toBe('done');
      const report = body.report;
      const want = expectedReport(cluster, request);
      expect({ orders: report?.orders, total: report?.total }, `the report in ${location} is not the one of ${request.customer} for ${request.month}`).toEqual(want);
      expect(WORKERS, `the report of ${request.customer} was rendered by ${report?.renderedBy}, a web clone, after the 202 went out: that clone's only core spent 2 s on it, and a clone that dies loses the job; only queue the job on the web clones, and render it on a worker`).toContain(report?.renderedBy);
    }
  }
});
