// Shared by the graded tests of this lab: a fresh cluster per test, and counters that ignore health checks.
import { onTestFailed } from 'vitest';
import { Cluster, type ClusterEvent } from '@scale-lab/kit';
import { createApp } from '../starter/app.ts';
import { createBalancer } from '../starter/balancer.ts';
import { APP_SERVERS, createClonesCluster } from '../starter/cluster.ts';

export { APP_SERVERS };

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export function clonesCluster(): Cluster {
  const cluster = createClonesCluster();
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}

/** Like the lab's cluster, with other app servers behind the balancer (e.g. a fourth clone added). */
export function clonesClusterOf(servers: string[]): Cluster {
  const cluster = new Cluster({ seed: 1 });
  cluster.addStore('kv');
  for (const name of servers) cluster.addNode(name, createApp);
  cluster.addNode('lb', (ctx) => createBalancer(ctx, servers));
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}

/** Counts the requests each app server receives from the balancer from now on, health checks left out; `events` are those counted, for evidence. */
export function countServed(cluster: Cluster): { of(server: string): number; reset(): void; events: ClusterEvent[] } {
  const served = new Map<string, number>();
  const events: ClusterEvent[] = [];
  cluster.metrics.on((event) => {
    if (event.type === 'request' && event.from === 'lb' && event.path !== '/health') {
      served.set(event.node, (served.get(event.node) ?? 0) + 1);
      events.push(event);
    }
  });
  return { of: (server) => served.get(server) ?? 0, reset: () => { served.clear(); events.length = 0; }, events };
}

/** Requests from outside that got no 200 answer: what a test counts as failed. */
export const failedFromOutside = (event: ClusterEvent): boolean => (event.type === 'answered' && event.from === 'client' && event.status !== 200 && event.status !== 201) || (event.type === 'failed' && event.from === 'client');

/** Sends `n` GET / requests through the balancer, one after another; returns the statuses (0 = no answer). */
export async function sendSequential(cluster: Cluster, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      statuses.push((await cluster.fetch('http://lb/')).status);
    } catch {
      statuses.push(0);
    }
  }
  return statuses;
}

/** Like sendSequential, with how long each request took in ms of cluster time. */
export async function sendTimed(cluster: Cluster, n: number): Promise<{ status: number; ms: number }[]> {
  const answers: { status: number; ms: number }[] = [];
  for (let i = 0; i < n; i++) {
    const start = cluster.clock.now();
    let status = 0;
    try {
      status = (await cluster.fetch('http://lb/')).status;
    } catch {
      status = 0;
    }
    answers.push({ status, ms: cluster.clock.now() - start });
  }
  return answers;
}

/** Counts the POST /orders each app server received from the balancer, and how many it placed (201). */
export function countOrders(cluster: Cluster): { received(): number; placed(): number; receivedBy(server: string): number } {
  const received = new Map<string, number>();
  let placed = 0;
  cluster.metrics.on((event) => {
    if (event.type === 'request' && event.from === 'lb' && event.method === 'POST' && event.path === '/orders') {
      received.set(event.node, (received.get(event.node) ?? 0) + 1);
      if (event.status === 201) placed++;
    }
  });
  const total = () => [...received.values()].reduce((a, b) => a + b, 0);
  return { received: total, placed: () => placed, receivedBy: (server) => received.get(server) ?? 0 };
}

/** Sends `n` POST /orders through the balancer, one after another; returns the statuses (0 = no answer). */
export async function placeOrders(cluster: Cluster, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const res = await cluster.fetch('http://lb/orders', { method: 'POST', body: JSON.stringify({ item: `order-${i + 1}` }) });
      statuses.push(res.status);
    } catch {
      statuses.push(0);
    }
  }
  return statuses;
}

/** Counts the health checks the balancer sends to `server` from now on, and how many it answered 200. */
export function countChecks(cluster: Cluster, server: string): { all(): number; passed(): number; reset(): void } {
  let all = 0;
  let passed = 0;
  cluster.metrics.on((event) => {
    if (event.type === 'request' && event.from === 'lb' && event.node === server && event.path === '/health') {
      all++;
      if (event.status === 200) passed++;
    }
  });
  return { all: () => all, passed: () => passed, reset: () => (all = passed = 0) };
}

/** Drives the cluster's time until `reached` settles or `ms` of cluster time pass; true if it settled first. */
async function within(cluster: Cluster, reached: Promise<void>, ms: number): Promise<boolean> {
  return cluster.run(Promise.race([reached.then(() => true), cluster.clock.sleep(ms).then(() => false)]));
}

/**
 * Makes `server` answer 500 until it has failed exactly one health check, then heals it: a blip that
 * one check sees, whenever the balancer's checks run. False if no check came within 3 s.
 */
export async function failOneCheck(cluster: Cluster, server: string): Promise<boolean> {
  let seen!: () => void;
  const checked = new Promise<void>((resolve) => (seen = resolve));
  let done = false;
  const off = cluster.metrics.on((event) => {
    if (!done && event.type === 'request' && event.from === 'lb' && event.node === server && event.path === '/health' && event.status >= 500) {
      done = true;
      cluster.recover(server);
      seen();
    }
  });
  cluster.fail(server, 500);
  const ok = await within(cluster, checked, 3000);
  if (!ok) cluster.recover(server);
  off();
  return ok;
}

/** From now on `server` fails every other health check: it answers 500 until a check sees it, then 200 until the next check. */
export function flapOnEveryCheck(cluster: Cluster, server: string): void {
  cluster.fail(server, 500);
  let failing = true;
  cluster.metrics.on((event) => {
    if (event.type === 'request' && event.from === 'lb' && event.node === server && event.path === '/health') {
      if (failing) cluster.recover(server);
      else cluster.fail(server, 500);
      failing = !failing;
    }
  });
}

/** Waits until `server` has answered `n` more health checks that failed (`passed` false) or passed, then long enough for the balancer to read the last; false if that took over 5 s. */
export async function checksAnswered(cluster: Cluster, server: string, n: number, passed: boolean): Promise<boolean> {
  let seen = 0;
  let reached!: () => void;
  const enough = new Promise<void>((resolve) => (reached = resolve));
  const off = cluster.metrics.on((event) => {
    if (event.type === 'request' && event.from === 'lb' && event.node === server && event.path === '/health' && (event.status === 200) === passed && ++seen === n) reached();
  });
  const ok = await within(cluster, enough, 5000);
  off();
  await cluster.sleep(10);
  return ok;
}
