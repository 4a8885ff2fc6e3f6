import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import type { Cluster } from '@scale-lab/kit';
import { DEAD_LETTER_QUEUE, QUEUE, RENDER_MS, type ExportRequest } from '../starter/report.ts';
import { WORKERS, asyncCluster, enqueue, isExportsMessage, recordRenders, seconds, statusFrom, waitForDone, type Render } from './helpers.ts';

/** The promise of this step: three one-core workers render at least this many times faster than one. */
const MIN_SPEEDUP = 2.5;
/** Once a worker dies, its job must be done within this long (a visibility timeout of up to ~50 s fits). */
const RECOVER_WITHIN_MS = 60_000;
const CUSTOMERS = ['acme', 'globex', 'initech', 'hooli', 'stark', 'wayne'];
const twelve: ExportRequest[] = Array.from({ length: 12 }, (_, i) => ({ customer: CUSTOMERS[i % 6]!, month: `2026-0${1 + Math.floor(i / 6)}` }));
const label = (r: { customer: string; month: string }) => `${r.customer}/${r.month}`;

/** Queues the exports at once and waits until every report was rendered (at most `within` ms); returns how long that took. */
async function drain(cluster: Cluster, requests: ExportRequest[], within: number): Promise<{ took: number; renders: ReturnType<typeof recordRenders>; locations: string[]; mostAtOnce: { node: string; n: number } }> {
  const renders = recordRenders(cluster);
  // The most jobs one worker had started and not finished at one moment: one, if it takes the next only when done.
  const open = new Map<string, number>();
  let mostAtOnce = { node: '', n: 0 };
  cluster.metrics.on((event) => {
    if (event.type !== 'log' || !/^render(ing|ed) the report of /.test(event.message)) return;
    const n = (open.get(event.node) ?? 0) + (event.message.startsWith('rendering') ? 1 : -1);
    open.set(event.node, n);
    if (n > mostAtOnce.n) mostAtOnce = { node: event.node, n };
  });
  const start = cluster.clock.now();
  const { locations } = enqueue(cluster, requests);
  const end = start + within;
  while (cluster.clock.now() < end && new Set(renders.finished.map(label)).size < requests.length) await cluster.sleep(100);
  const last = Math.max(start, ...renders.finished.map((r) => r.at));
  return { took: last - start, renders, locations, mostAtOnce };
}

/** Fails if two workers rendered one report at the same time: its message came back while the first was still on it. */
function expectNoOverlap(renders: ReturnType<typeof recordRenders>, requests: ExportRequest[]): void {
  for (const request of requests) {
    const runs = renders.started.filter((r) => label(r) === label(request));
    for (const [i, later] of runs.entries()) {
      const earlier = runs.slice(0, i).find((r) => !renders.finished.some((f) => f.node === r.node && label(f) === label(r) && f.at >= r.at && f.at <= later.at));
      if (earlier) {
        evidence(`the receives and deletes of the jobs' messages, ${label(request)}'s among them`, isExportsMessage);
        expect.fail(`the report of ${label(request)} was being rendered by ${earlier.node} (since ${seconds(earlier.at)}) when ${later.node} started rendering it too (at ${seconds(later.at)}), though no worker failed: its message became visible again while ${earlier.node} was still working; the visibility timeout must be longer than the job (rendering takes 2 s), with room to spare`);
      }
    }
  }
}

const perWorker = (renders: Render[]) => WORKERS.map((w) => `${w} ${renders.filter((r) => r.node === w).length}`).join(', ');

test('one job, three idle workers: one worker renders it, once', async () => {
  const cluster = await asyncCluster();
  const renders = recordRenders(cluster);
  const request = { customer: 'acme', month: '2026-05' };
  enqueue(cluster, [request]);
  await cluster.sleep(15_000);
  evidence('the job put on exports, and which worker received and deleted it', isExportsMessage);
  expect(renders.finished.length, `no worker rendered the job put on ${QUEUE} 15 s ago: each worker must keep taking messages from the queue, in a loop started in createWorker`).toBeGreaterThan(0);
  expectNoOverlap(renders, [request]);
  // A quiet minute, then another job: the workers must still be listening.
  await cluster.sleep(60_000);
  const later = { customer: 'globex', month: '2026-05' };
  const laterAt = cluster.clock.now();
  enqueue(cluster, [later], 'job-later-');
  await cluster.sleep(15_000);
  evidence('the job put on exports after the quiet minute, and whether a worker received it', (e) => isExportsMessage(e) && e.at >= laterAt);
  expect(renders.of(later).length, `a job put on ${QUEUE} after a quiet minute was not rendered within 15 s: the workers stopped taking messages, as a loop that ends when a receive comes back empty does; an empty queue is only quiet for now, so keep receiving for the worker's whole life`).toBeGreaterThan(0);
});

test(`three one-core workers render twelve reports at least ${MIN_SPEEDUP}x faster than one could, each report once, and acknowledge every message`, async () => {
  const cluster = await asyncCluster();
  const three = await drain(cluster, twelve, 120_000);
  const rendered = new Set(three.renders.finished.map(label)).size;
  evidence('the twelve jobs\' messages: which worker received each, when, and when it deleted it', isExportsMessage);
  expect(rendered, `${rendered} of the 12 reports were rendered in 2 minutes: the workers must keep taking messages from the queue, one after another`).toBe(12);
  expectNoOverlap(three.renders, twelve);
  const alone = twelve.length * RENDER_MS;
  const speedup = alone / three.took;
  expect(speedup, `three workers took ${seconds(three.took)} to render 12 reports, where one worker needs ${seconds(alone)}: only ${speedup.toFixed(1)}x faster (at least ${MIN_SPEEDUP}x expected). Reports rendered per worker: ${perWorker(three.renders.finished)}. A worker that takes several messages at once renders them one after another on its one core while the other workers have nothing to do: take one message per receive`).toBeGreaterThanOrEqual(MIN_SPEEDUP);

  const { node, n } = three.mostAtOnce;
  expect(n, `${node} had started ${n} of the 12 jobs at once, though its one core renders one report at a time: it went back to receive before its job was done (a handler not awaited), so it holds messages it cannot work on yet, and any that wait past their visibility timeout go to another worker and are rendered twice. Await each job before the next receive`).toBeLessThanOrEqual(1);

  await waitForDone(cluster, three.locations, 10_000);
  await cluster.sleep(1000);
  const { depth, inFlight, delayed } = cluster.queue(QUEUE).stats();
  evidence(`every send, receive, delete and dead letter of the jobs' messages, once all were done`, isExportsMessage);
  const again = three.renders.started.length - 12;
  expect(depth + inFlight + delayed, `every job is done, yet ${depth + inFlight + delayed} of their messages are still in ${QUEUE}${again > 0 ? ` (and reports were rendered ${again} times more than needed)` : ''}: a message that is never deleted comes back after its visibility timeout, again and again, and ends in ${DEAD_LETTER_QUEUE}; delete (acknowledge) each message with its receipt once its job is done`).toBe(0);
});

test(`a worker killed while rendering loses no job: its message comes back and every job is done within ${RECOVER_WITHIN_MS / 1000} s`, async () => {
  const cluster = await asyncCluster();
  const renders = recordRenders(cluster);
  const requests = twelve.slice(0, 6);
  const { locations } = enqueue(cluster, requests);
  await cluster.sleep(1000);
  const victim = 'worker-2';
  evidence('what the workers received from exports in the first second', isExportsMessage);
  const held = renders.started.filter((r) => r.node === victim && !renders.finished.some((f) => f.node === victim && label(f) === label(r)));
  expect(held.length, `${victim} was rendering nothing 1 s after six exports were accepted: every worker must take jobs from the queue`).toBeGreaterThan(0);
  const killedAt = cluster.clock.now();
  cluster.kill(victim);
  await cluster.sleep(5000);
  cluster.revive(victim);
  const final = await waitForDone(cluster, locations, RECOVER_WITHIN_MS - 5000);
  for (const [i, location] of locations.entries()) {
    const status = final.get(location)!;
    if (status.status === 'done') continue;
    const wasHeld = held.some((h) => label(h) === label(requests[i]!));
    const why = wasHeld ? `${victim} was killed at ${seconds(killedAt)} while rendering it` : 'it was accepted before the others';
    const hidden = cluster.queue(QUEUE).stats().inFlight > 0;
    evidence(`the jobs' messages before and after ${victim} was killed: received, deleted, received again`, isExportsMessage);
    expect.fail(hidden
      ? `the job of ${label(requests[i]!)} (${location}) was still ${JSON.stringify(status.status)} ${RECOVER_WITHIN_MS / 1000} s after ${why}, and its message is still hidden in ${QUEUE}: a visibility timeout that long keeps a dead worker's job from every other worker; set it above the job's time (2 s), not minutes above it`
      : `the job of ${label(requests[i]!)} (${location}) was still ${JSON.stringify(status.status)} ${RECOVER_WITHIN_MS / 1000} s after ${why}, and its message is gone from ${QUEUE}: it was deleted before the work was done, so the job died with the worker; delete a message only after its job is done`);
  }
  const report = (await statusFrom(cluster, 'app-2', locations[0]!)).body.report;
  expect(report, `the job at ${locations[0]} is done but app-2 shows no report`).toBeTruthy();
});
