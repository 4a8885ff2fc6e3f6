import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import type { Cluster } from '@scale-lab/kit';
import type { SendAttempt } from '../starter/mail.ts';
import { DEAD_LETTER_QUEUE, MAX_RECEIVES, QUEUE, type ExportRequest } from '../starter/report.ts';
import { asyncCluster, enqueue, isEmailTry, isExportsMessage, recordRenders, seconds, waitForDone } from './helpers.ts';

/** Retries are random: every verdict here pools runs under these seeds, so no lucky draw passes. */
const SEEDS = [1, 2, 3, 4];
const OUTAGE_MS = 15_000;
/** What the provider answers during the outage, by seed: unavailable (503), or rate-limited (429), which is as retryable. */
const outageStatus = (seed: number) => (seed % 2 === 1 ? 503 : 429);
const addressOf = (cluster: Cluster, customer: string) => cluster.database('db').query<{ email: string }>('SELECT email FROM customers WHERE id = ?', [customer])[0]!.email;
const attempts = async (cluster: Cluster) => (await (await cluster.fetch('http://mail/attempts')).json()) as SendAttempt[];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

test(`the mail provider answers 503, or 429, for ${OUTAGE_MS / 1000} s: each job retries with exponential backoff and jitter, and is done, its email sent, once it is back`, async () => {
  const gaps: number[][] = []; // gaps[k]: waits between a job's attempt k+1 and k+2, every run pooled
  const spreads: number[] = []; // per run and retry: how far apart the three jobs' tries came
  for (const seed of SEEDS) {
    const cluster = await asyncCluster({ seed });
    const outage = outageStatus(seed);
    await cluster.fetch('http://mail/outage', { method: 'POST', body: JSON.stringify({ ms: OUTAGE_MS, status: outage }) });
    // Three jobs, one per worker: they are rendered together and fail together.
    const requests: ExportRequest[] = ['cyberdyne', 'soylent', 'initrode'].map((customer) => ({ customer, month: '2026-06' }));
    const { locations } = enqueue(cluster, requests, `job-s${seed}-`);
    const final = await waitForDone(cluster, locations, 150_000, 2000);
    const all = await attempts(cluster);
    const tries = requests.map((r) => all.filter((a) => a.to === addressOf(cluster, r.customer)).map((a) => a.at));
    const sent = (await (await cluster.fetch('http://mail/sent')).json()) as { to: string }[];
    for (const [i, request] of requests.entries()) {
      const status = final.get(locations[i]!)!.status;
      if (status === 'done' && sent.some((email) => email.to === addressOf(cluster, request.customer))) continue;
      if (status === 'done') {
        evidence(`the jobs' tries to send their email (seed ${seed})`, isEmailTry);
        expect.fail(`the export of ${request.customer} is done, but its email was never sent: the mail provider answered ${outage} for ${OUTAGE_MS / 1000} s and the job gave up on it after ${tries[i]!.length} tries. ${outage === 429 ? '429 Too Many Requests is not a refusal: it says not now, slow down; retry it later, as a 503' : 'A 5xx is not a refusal: retry it later'} (seed ${seed})`);
      }
      const dead = cluster.queue(DEAD_LETTER_QUEUE).bodies().some((b) => b.includes(request.customer));
      evidence(`the jobs' tries to send their email and their messages' receives (seed ${seed})`, (e) => isEmailTry(e) || isExportsMessage(e));
      expect.fail(dead
        ? `the export of ${request.customer} ended in ${DEAD_LETTER_QUEUE} during a ${OUTAGE_MS / 1000} s outage of the mail provider, after ${tries[i]!.length} tries: its ${MAX_RECEIVES} receives were spent within seconds; wait longer after each failure, so the receives span minutes (seed ${seed})`
        : `the export of ${request.customer} is ${JSON.stringify(status)} 150 s after it was queued, though the mail provider was back after ${OUTAGE_MS / 1000} s; it was tried ${tries[i]!.length} times: a job that fails on a ${outage} must be tried again later (seed ${seed})`);
    }
    for (const times of tries) times.slice(1).forEach((t, k) => (gaps[k] ??= []).push(t - times[k]!));
    for (let k = 1; k < 4; k++) {
      const at = tries.map((times) => times[k]).filter((t) => t !== undefined);
      if (at.length === 3) spreads.push(Math.max(...at) - Math.min(...at));
    }
  }
  const waits = gaps.slice(0, 5).map((g, k) => `${k + 1}: ${seconds(mean(g))}`).join(', ');
  const growth = mean(gaps[3] ?? []) - mean(gaps[0] ?? []);
  evidence('every try of the three jobs to send their email, the waits and spreads being measured between them', isEmailTry);
  expect(growth, `on average, a job waited ${waits} before its next try (by try): the waits do not grow, so a long outage is met with as many tries as a short one. Double the ceiling of the wait after each failure (1 s, 2 s, 4 s… up to 60 s), for example from message.receiveCount`).toBeGreaterThanOrEqual(1500);
  const together = spreads.filter((s) => s < 100).length;
  expect(together, `three jobs that failed together tried again together: in ${together} of ${spreads.length} retries their tries came within 100 ms of each other. Without jitter, every client that failed at the same moment retries at the same moment, in waves; wait a random time under the ceiling (full jitter: ctx.random() * ceiling)`).toBeLessThanOrEqual(spreads.length / 4);
});

test(`a job that fails every time lands in ${DEAD_LETTER_QUEUE} after ${MAX_RECEIVES} receives, while good jobs keep flowing`, async () => {
  const cluster = await asyncCluster();
  const renders = recordRenders(cluster);
  // Umbrella's February has an order without an amount: its report throws every time.
  const poison = { customer: 'umbrella', month: '2026-02' };
  const good: ExportRequest[] = ['acme', 'globex', 'initech', 'hooli', 'stark', 'wayne'].map((customer) => ({ customer, month: '2026-02' }));
  const { jobs, locations } = enqueue(cluster, [poison, ...good]);
  const done = await waitForDone(cluster, locations.slice(1), 20_000, 1000);
  const late = good.filter((_, i) => done.get(locations[i + 1]!)!.status !== 'done');
  evidence('the receives and deletes of the seven jobs\' messages in the first 20 s', isExportsMessage);
  expect(late.length, `${late.length} of 6 good jobs were not done 20 s after they were queued beside one that fails (${late.map((r) => r.customer).join(', ')}): a failing job must not hold up the others; catch its error in the worker's loop, leave its message for later, and take the next`).toBe(0);
  await cluster.sleep(300_000);
  const tries = renders.started.filter((r) => r.customer === poison.customer && r.month === poison.month).length;
  const dead = cluster.queue(DEAD_LETTER_QUEUE).bodies().some((b) => b.includes(jobs[0]!.id));
  if (!dead) {
    const left = cluster.queue(QUEUE).bodies().some((b) => b.includes(jobs[0]!.id));
    evidence('the messages of exports over 5 minutes: the failing job\'s receives, and whether it was deleted or dead-lettered', isExportsMessage);
    expect.fail(tries > MAX_RECEIVES
      ? `the job of umbrella for 2026-02, whose report throws every time, was tried ${tries} times in 5 minutes and is still not in ${DEAD_LETTER_QUEUE}: its retries have no bound. A copy sent again starts a new receive count, and a retry loop inside the worker never lets the broker count at all; leave the message undeleted and let its receive count reach ${MAX_RECEIVES}`
      : left
        ? `the job of umbrella for 2026-02, whose report throws every time, was tried ${tries} times in 5 minutes and is still in ${QUEUE}: make each failed try visible again after a backoff, so the receive count reaches ${MAX_RECEIVES} and the broker moves it to ${DEAD_LETTER_QUEUE}`
        : `the job of umbrella for 2026-02, whose report throws, was tried ${tries} time${tries === 1 ? '' : 's'} and then deleted: a job that failed is gone without a trace, and nobody learns its report was never made. Leave a failed job's message undeleted: it is retried, and after ${MAX_RECEIVES} receives the broker keeps it in ${DEAD_LETTER_QUEUE} for a human`);
  }
});

test('a 400 from the mail provider is not retried', async () => {
  const cluster = await asyncCluster();
  // Tyrell's billing address has no @: the provider refuses it with 400, every time.
  const { locations } = enqueue(cluster, [{ customer: 'tyrell', month: '2026-09' }]);
  await cluster.sleep(120_000);
  const tries = (await attempts(cluster)).filter((a) => a.to === addressOf(cluster, 'tyrell'));
  evidence('tyrell\'s job message in exports, and its tries to send the email (answered 400)', (e) => isExportsMessage(e) || isEmailTry(e));
  expect(tries.length, tries.length === 0
    ? 'the job of tyrell never tried to send its email'
    : `the mail provider refused tyrell's email with ${tries[0]!.status} (a malformed address) and the job sent it ${tries.length} times in 2 minutes: a 4xx says the request itself is wrong, so sending it again gets the same answer; give up at once (no retry, no dead letter) and delete the message`).toBe(1);
  const { depth, inFlight, delayed, deadLettered } = cluster.queue(QUEUE).stats();
  evidence('tyrell\'s job message: received, then deleted or left for a retry', isExportsMessage);
  expect(depth + inFlight + delayed + deadLettered, `tyrell's email was refused for good, yet its job's message is still in ${QUEUE} or went to ${DEAD_LETTER_QUEUE}: a job that cannot succeed is finished (say so in its status) and its message deleted`).toBe(0);
  const status = (await waitForDone(cluster, locations, 0)).get(locations[0]!)!.status;
  expect(['done', 'failed'], `the job of tyrell says ${JSON.stringify(status)}: once it has given up on the email, its status must say so, "done" (the report is there) or "failed", with why in a field of your choice`).toContain(status);
});
