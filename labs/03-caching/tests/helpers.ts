// Shared by the graded tests of this lab: a fresh cluster per test, requests with their JSON answers,
// and the answers the database says are right.
import { onTestFailed } from 'vitest';
import type { Cluster, ClusterEvent } from '@scale-lab/kit';
import { APP_CLONES, createCachingCluster } from '../starter/cluster.ts';

export { APP_CLONES };

export interface Product {
  id: number;
  name: string;
  priceCents: number;
}

export interface ProductPage {
  product: Product;
  reviews: { stars: number; body: string }[];
  stock: number;
}

/** Database queries sent from now on, as their events: what an assertion about queries counts, for evidence. */
export function queriesFromNow(cluster: Cluster): ClusterEvent[] {
  const sent: ClusterEvent[] = [];
  cluster.metrics.on((event) => {
    if (event.type === 'query') sent.push(event);
  });
  return sent;
}

/** Every database query: the evidence of a test that counts them all. */
export const isQuery = (event: ClusterEvent): boolean => event.type === 'query';

/** The ids of the ten products in the database. */
export const PRODUCT_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** A fresh cluster; if the test fails, its message ends with the seed that replays the run. */
export async function cachingCluster(): Promise<Cluster> {
  const cluster = await createCachingCluster();
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) error.message += `\n(cluster seed ${cluster.seed}: the same seed replays this run exactly)`;
  });
  return cluster;
}

/** Product `id` as the database holds it now, read directly: no cost, not counted. */
export function productInDb(cluster: Cluster, id: number): Product {
  const [row] = cluster.database('db').query<{ id: number; name: string; price_cents: number }>('SELECT id, name, price_cents FROM products WHERE id = ?', [id]);
  if (!row) throw new Error(`the database has no product ${id}`);
  return { id: row.id, name: row.name, priceCents: row.price_cents };
}

/** The page of product `id` as the database holds it now, read directly: no cost, not counted. */
export function pageInDb(cluster: Cluster, id: number): ProductPage {
  const db = cluster.database('db');
  const reviews = db.query<{ stars: number; body: string }>('SELECT stars, body FROM reviews WHERE product_id = ? ORDER BY id', [id]);
  const [stock] = db.query<{ quantity: number }>('SELECT quantity FROM stock WHERE product_id = ?', [id]);
  return { product: productInDb(cluster, id), reviews, stock: stock?.quantity ?? 0 };
}

/** Changes a price straight in the database, behind the service's back. */
export function setPriceInDb(cluster: Cluster, id: number, priceCents: number): void {
  cluster.database('db').run('UPDATE products SET price_cents = ? WHERE id = ?', [priceCents, id]);
}

export interface Answer<T> {
  status: number;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: T | undefined;
}

async function answerOf<T>(res: Response): Promise<Answer<T>> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as T };
  } catch {
    return { status: res.status, body: undefined };
  }
}

/** GET `path` on the product service, e.g. `/products/3/page`. */
export async function get<T>(cluster: Cluster, path: string): Promise<Answer<T>> {
  return getAt<T>(cluster, 'app', path);
}

/** GET `path` on one clone, e.g. app-2; status 0 when no answer came within `timeoutMs` of cluster time. */
export async function getAt<T>(cluster: Cluster, clone: string, path: string, timeoutMs?: number): Promise<Answer<T>> {
  try {
    const res = await cluster.fetch(`http://${clone}${path}`, timeoutMs === undefined ? undefined : { signal: cluster.timeout(timeoutMs) });
    return await answerOf<T>(res);
  } catch {
    return { status: 0, body: undefined };
  }
}

/** PUT /products/:id with a JSON body, e.g. { priceCents: 1999 }. */
export async function put(cluster: Cluster, id: number, changes: Partial<Omit<Product, 'id'>>): Promise<Answer<Product>> {
  return putAt(cluster, 'app', id, changes);
}

/** PUT /products/:id on one clone, e.g. app-2. */
export async function putAt(cluster: Cluster, clone: string, id: number, changes: Partial<Omit<Product, 'id'>>): Promise<Answer<Product>> {
  const res = await cluster.fetch(`http://${clone}/products/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(changes) });
  return answerOf<Product>(res);
}

/** Sends a GET for every path at the same moment and waits for all the answers. */
export function getAll<T>(cluster: Cluster, paths: string[]): Promise<Answer<T>[]> {
  return cluster.run(() => Promise.all(paths.map((path) => get<T>(cluster, path))));
}

/** The same product: id, name and price all equal. */
export function sameProduct(got: unknown, want: Product): boolean {
  const p = got as Partial<Product> | undefined;
  return p?.id === want.id && p.name === want.name && p.priceCents === want.priceCents;
}

/** A short description of an answer, for failure messages. */
export function show(answer: Answer<unknown>): string {
  const body = answer.body === undefined ? 'a body that is not JSON' : JSON.stringify(answer.body);
  return `${answer.status} ${body.length > 160 ? `${body.slice(0, 160)}…` : body}`;
}
