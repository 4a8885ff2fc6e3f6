/**
 * The node:http adapter: serves every HTTP node of a cluster on its own real port on loopback, and
 * makes `ctx.fetch('http://app-1/…')` travel over real HTTP to that port. The network's faults
 * (latency, partitions, killed nodes) still apply on the way. Use with a cluster made with
 * `{ clock: 'real' }`. This is the only kit file that uses Node built-ins.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Cluster } from './cluster.ts';
import { CLIENT } from './network.ts';

const FROM_HEADER = 'x-scale-lab-from';

export interface ServedCluster {
  /** The real URL of each HTTP node, e.g. { lb: 'http://127.0.0.1:41234' }. */
  urls: Record<string, string>;
  /** Stops every server and returns the cluster to in-memory delivery. */
  close(): Promise<void>;
}

async function copyWithUrl(request: Request, url: string, headers: Headers): Promise<Request> {
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  return new Request(url, { method: request.method, headers, body: hasBody ? await request.arrayBuffer() : undefined });
}

/**
 * Serves the cluster's HTTP nodes on loopback. `ports` pins a node to a port (e.g. { lb: 8080 });
 * the others get free ports.
 */
export async function serveCluster(cluster: Cluster, options: { host?: string; ports?: Record<string, number> } = {}): Promise<ServedCluster> {
  const host = options.host ?? '127.0.0.1';
  const servers = new Map<string, Server>();
  const urls: Record<string, string> = {};

  for (const name of cluster.httpNodeNames) {
    const listener = getRequestListener(async (incoming) => {
      const url = new URL(incoming.url);
      const from = incoming.headers.get(FROM_HEADER) ?? CLIENT;
      const headers = new Headers(incoming.headers);
      headers.delete(FROM_HEADER);
      // The handler sees the same URL as in memory: http://<node-name>/path.
      const request = await copyWithUrl(incoming, `http://${name}${url.pathname}${url.search}`, headers);
      return cluster.handle(name, request, from);
    });
    const server = createServer(listener);
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`Could not serve ${name} on ${host}:${options.ports?.[name] ?? 0}: ${err.message}`)));
      server.listen(options.ports?.[name] ?? 0, host, () => resolve());
    });
    servers.set(name, server);
    urls[name] = `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  cluster.useTransport({
    async send(to, request, from) {
      const base = urls[to];
      if (!base) throw new TypeError(`${from} → ${to}: ${to} is not served on a port`);
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.set(FROM_HEADER, from);
      return fetch(await copyWithUrl(request, `${base}${url.pathname}${url.search}`, headers));
    },
  });

  return {
    urls,
    async close() {
      cluster.useTransport(undefined);
      await Promise.all([...servers.values()].map((s) => new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      })));
    },
  };
}
