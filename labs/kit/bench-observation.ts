/**
 * What observing a run costs: the kit's fixed workload (10,000 GETs through a round-robin balancer
 * to three app servers that each read the key-value store), in memory, with nobody listening and
 * then with `cluster.observe()` keeping every event. Wall-clock requests per second; each figure is
 * the best of a few runs. Not reachable from index.ts: for `npm run bench`, or run it directly.
 */
import { Cluster } from './cluster.ts';
import type { NodeFactory } from './components/http-node.ts';

const REQUESTS = 10_000;
const CONCURRENCY = 32;
const APPS = ['app-1', 'app-2', 'app-3'];

/** The kit's benchmark cluster (the same workload scripts/bench-kit.ts measures over node:http). */
export function benchCluster(clock: 'virtual' | 'real' = 'virtual'): Cluster {
  const cluster = new Cluster({ seed: 1, clock });
  cluster.addStore('kv', { cost: 0 }).set('greeting', 'hello');
  const app: NodeFactory = (ctx) => async () => new Response(`${await ctx.kv.get('greeting')} from ${ctx.name}`);
  for (const name of APPS) cluster.addNode(name, app);
  cluster.addNode('lb', (ctx) => {
    let next = 0;
    return (req) => ctx.forward(req, APPS[next++ % APPS.length]!);
  });
  return cluster;
}

async function rate(observed: boolean): Promise<number> {
  const cluster = benchCluster();
  const observation = observed ? cluster.observe(REQUESTS * 8) : undefined;
  const start = performance.now();
  const report = await cluster.load({ target: 'http://lb/', requests: REQUESTS, concurrency: CONCURRENCY });
  const seconds = (performance.now() - start) / 1000;
  observation?.stop();
  if (report.ok !== REQUESTS) throw new Error(`bench: ${REQUESTS - report.ok} requests failed`);
  return REQUESTS / seconds;
}

export interface ObservationBench {
  /** Requests per second with nobody listening. */
  off: number;
  /** Requests per second with every event kept. */
  on: number;
  /** off / on: how many times slower observing makes a run (goal: at most 1.5). */
  cost: number;
}

export async function benchObservation(rounds = 3): Promise<ObservationBench> {
  await rate(false);
  await rate(true);
  let off = 0;
  let on = 0;
  // Alternated, so a busy moment of the machine does not fall on one side only.
  for (let i = 0; i < rounds; i++) {
    off = Math.max(off, await rate(false));
    on = Math.max(on, await rate(true));
  }
  return { off, on, cost: off / on };
}

if ((import.meta as { main?: boolean }).main) {
  const r = await benchObservation();
  console.log(`kit in memory: ${Math.round(r.off)} req/s unobserved, ${Math.round(r.on)} req/s observed (every event kept): ${r.cost.toFixed(2)}x`);
}
