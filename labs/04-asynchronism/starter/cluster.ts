// Provided: the cluster of this lab. Your code is in app.ts and worker.ts.
import { Cluster, type ClusterOptions, type Handler, type NodeContext } from '@scale-lab/kit';
import { createApp } from './app.ts';
import { createMailProvider } from './mail.ts';
import { DEAD_LETTER_QUEUE, MAX_RECEIVES, QUEUE } from './report.ts';
import { createWorker } from './worker.ts';

/** The web clones behind the balancer, each with one core. */
export const APP_SERVERS = ['app-1', 'app-2', 'app-3'];
/** The workers, each with one core. */
export const WORKERS = ['worker-1', 'worker-2', 'worker-3'];
/** The queue's visibility timeout when a receive names none (SQS's default). */
export const DEFAULT_VISIBILITY_MS = 30_000;

/** The customers (one has an address no provider accepts) and 2026's orders. */
export const CUSTOMERS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne', 'soylent', 'initrode', 'vandelay', 'oscorp', 'massive'];
export const MONTHS = Array.from({ length: 12 }, (_, i) => `2026-${String(i + 1).padStart(2, '0')}`);
/** Every customer starts with this balance, in cents. */
export const OPENING_BALANCE = 100_000;

function seedSql(): string {
  const customers = CUSTOMERS.map((c) => `('${c}', '${c === 'tyrell' ? 'billing-at-tyrell' : `billing@${c}.example`}', ${OPENING_BALANCE})`);
  const orders: string[] = [];
  CUSTOMERS.forEach((customer, c) => MONTHS.forEach((month, m) => {
    for (let k = 0; k < ((c + m) % 4) + 1; k++) {
      // One order of umbrella's in February was saved without an amount: its report cannot render.
      const amount = customer === 'umbrella' && month === '2026-02' && k === 0 ? 'NULL' : String(500 + ((c * 7 + m * 13 + k * 5) % 90) * 100);
      orders.push(`('${customer}', '${month}', ${amount})`);
    }
  }));
  return `
    CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT NOT NULL, balance INTEGER NOT NULL);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, month TEXT NOT NULL, amount INTEGER);
    CREATE TABLE charges (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, job TEXT NOT NULL, amount INTEGER NOT NULL);
    CREATE TABLE processed_jobs (job_key TEXT PRIMARY KEY);
    INSERT INTO customers (id, email, balance) VALUES ${customers.join(', ')};
    INSERT INTO orders (customer, month, amount) VALUES ${orders.join(', ')};`;
}

/** Round robin over the web clones: each request to http://lb/ goes to the next one. */
function createBalancer(ctx: NodeContext, servers: string[]): Handler {
  let next = 0;
  return (req) => ctx.forward(req, servers[next++ % servers.length]!);
}

/**
 * Clients reach the export service at http://lb/, which takes turns between app-1..app-3 (app.ts).
 * worker-1..worker-3 run worker.ts. The queue `exports` redrives a message to `exports-dead` after
 * MAX_RECEIVES receives. kv is the shared key-value store, db the database, mail the mail provider.
 */
export async function createAsyncCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster({ seed: 1, latency: 1, ...options });
  cluster.addStore('kv');
  await cluster.addDatabase('db', { setup: seedSql(), cost: 2 });
  cluster.addQueue(DEAD_LETTER_QUEUE);
  cluster.addQueue(QUEUE, { visibilityTimeout: DEFAULT_VISIBILITY_MS, maxReceives: MAX_RECEIVES, deadLetter: DEAD_LETTER_QUEUE });
  cluster.addNode('mail', (ctx) => createMailProvider(ctx));
  for (const name of WORKERS) cluster.addNode(name, (ctx) => createWorker(ctx), { cores: 1 });
  for (const name of APP_SERVERS) cluster.addNode(name, (ctx) => createApp(ctx), { cores: 1 });
  cluster.addNode('lb', (ctx) => createBalancer(ctx, APP_SERVERS));
  return cluster;
}
