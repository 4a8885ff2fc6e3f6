/**
 * serve.mjs — `node serve.mjs [--port 3000] [--host 127.0.0.1] [--dir DIR] [--redis URL]`, in the lab's folder of
 * the WebContainer (or DIR laid out the same way, as `npm run lab -- <topic> --serve` does in its
 * child process): builds the lab's cluster from the reader's files (lab/), on the real clock, through
 * the runner's module loader (the same imports allowed, the same wall-clock guard), and serves every
 * HTTP node on its own port with the kit's node:http adapter: the entry node on --port (default
 * $PORT, else 3000), the others on the ports after it. Prints each client request. With --redis
 * (the CLI's `--serve --redis`, never in WebContainer), every key-value store of the cluster keeps its
 * data in the real Redis at URL, the first store in logical database 0, the next in 1, and so on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as kit from '@scale-lab/kit';
import { serveCluster } from '@scale-lab/kit/node-http';
import type { LabBundle } from '../bundle.ts';
import { ENTRY_PORT, MOUNTED } from '../protocol.ts';
import { ModuleLoader } from '../runner/loader.ts';
import { redisTransport } from '../../kit/kv-redis.ts';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' }, dir: { type: 'string' }, redis: { type: 'string' } } });
const here = values.dir ?? fileURLToPath(new URL('.', import.meta.url));
const port = Number(values.port ?? process.env.PORT ?? ENTRY_PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`--port takes a port number, got ${values.port ?? process.env.PORT}.`);
const host = values.host ?? '127.0.0.1';

const bundle = JSON.parse(readFileSync(join(here, MOUNTED.bundle), 'utf8')) as LabBundle;
const { cluster: spec, title } = bundle.lab;

// The reader's files as mounted (and updated since); a file missing there falls back to the starter.
const files = Object.fromEntries(
  Object.keys(bundle.starter).map((file) => {
    const path = join(here, MOUNTED.labDir, file);
    return [file, existsSync(path) ? readFileSync(path, 'utf8') : bundle.starter[file]!];
  }),
);

const wasm = readFileSync(join(here, MOUNTED.sqlWasm));
kit.configureSqlWasm({ wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer });

const loader = new ModuleLoader({ kit: { __esModule: true, ...kit }, files, editable: bundle.lab.editable }, undefined, console);
let cluster: kit.Cluster;
try {
  const create = loader.labFile(spec.file)[spec.export];
  if (typeof create !== 'function') fail(`${spec.file} does not export ${spec.export}.`);
  cluster = (await (create as (options: kit.ClusterOptions) => kit.Cluster | Promise<kit.Cluster>)({ clock: 'real' }));
} catch (err) {
  fail(`The cluster could not be built from your files: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}

if (values.redis !== undefined) await storesOnRedis(values.redis);

/** Puts every key-value store of the cluster on the Redis at `url`, each in a logical database of its own. */
async function storesOnRedis(url: string): Promise<void> {
  if (!/^rediss?:\/\/[^/]/.test(url)) fail(`--redis takes the address of a Redis server, like redis://127.0.0.1:6379, got "${url}".`);
  // Loaded by path, so that serve.mjs (bundled for WebContainer, where there is no Redis) does not carry the client library.
  const module = './redis.ts';
  const { redisConnector } = (await import(module)) as typeof import('./redis.ts');
  const connector = redisConnector({ url });
  const stores = cluster.topology().nodes.filter((n) => n.kind === 'kv').map((n) => n.name);
  if (stores.length === 0) process.stdout.write(`This cluster has no key-value store: --redis changes nothing.\n`);
  for (const [db, name] of stores.entries()) {
    try {
      const redis = await connector.connect(db);
      cluster.useStoreBackend(name, redisTransport((argv, blocking) => redis.send(argv, blocking)));
    } catch (err) {
      fail(`Could not connect to Redis at ${url}: ${err instanceof Error ? err.message : String(err)}. Is redis-server running there?`);
    }
    process.stdout.write(`${name === 'kv' ? 'ctx.kv' : `ctx.store('${name}')`} is on ${url}, database ${db}: watch it with \`redis-cli -u ${url} MONITOR\`\n`);
  }
}

// The entry node on `port`, the others on the ports after it, in the cluster's order.
const ports: Record<string, number> = { [spec.entry]: port };
let next = port + 1;
for (const name of cluster.httpNodeNames) if (name !== spec.entry) ports[name] = next++;

let served: Awaited<ReturnType<typeof serveCluster>>;
try {
  served = await serveCluster(cluster, { host, ports });
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}

cluster.metrics.on((e) => {
  if (e.type === 'request' && e.from === 'client') process.stdout.write(`${e.method} ${e.path} → ${e.node} ${e.status} (${e.latency} ms)\n`);
  if (e.type === 'log') process.stdout.write(`[${e.node}] ${e.message}\n`);
});
process.stdout.write(`${title} is running on real ports:\n`);
for (const [name, url] of Object.entries(served.urls)) process.stdout.write(`  ${name.padEnd(8)} ${url}${name === spec.entry ? '   ← start here' : ''}\n`);

const stop = () => void served.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
