/**
 * The kit's fixed workload: 10,000 GET requests through a round-robin balancer to three app servers
 * that each read the key-value store, no injected latency; once over the in-memory network, once
 * with every node on node:http on loopback (keep-alive on). Throughput is wall-clock requests/s.
 */
import type { Cluster } from '@scale-lab/kit';
import { serveCluster } from '@scale-lab/kit/node-http';
import { benchCluster as build } from '../labs/kit/bench-observation.ts';

const REQUESTS = 10_000;
const CONCURRENCY = 32;

async function measure(cluster: Cluster): Promise<{ seconds: number; ok: number }> {
  const start = performance.now();
  const report = await cluster.load({ target: 'http://lb/', requests: REQUESTS, concurrency: CONCURRENCY });
  return { seconds: (performance.now() - start) / 1000, ok: report.ok };
}

export interface KitBench {
  inMemory: number;
  nodeHttp: number;
  ratio: number;
}

export async function benchKit(): Promise<KitBench> {
  // A short warm-up of each path, so JIT compilation is not measured.
  await build('virtual').load({ target: 'http://lb/', requests: 500, concurrency: CONCURRENCY });

  const memory = await measure(build('virtual'));
  const httpCluster = build('real');
  const served = await serveCluster(httpCluster);
  try {
    await httpCluster.load({ target: 'http://lb/', requests: 300, concurrency: CONCURRENCY });
    const http = await measure(httpCluster);
    if (memory.ok !== REQUESTS || http.ok !== REQUESTS) throw new Error(`bench: not every request succeeded (in memory ${memory.ok}, node:http ${http.ok})`);
    const inMemory = REQUESTS / memory.seconds;
    const nodeHttp = REQUESTS / http.seconds;
    return { inMemory, nodeHttp, ratio: inMemory / nodeHttp };
  } finally {
    await served.close();
  }
}

if (import.meta.main) {
  const r = await benchKit();
  console.log(`in-memory ${Math.round(r.inMemory)} req/s, node:http ${Math.round(r.nodeHttp)} req/s, ratio ${r.ratio.toFixed(1)}x`);
}
