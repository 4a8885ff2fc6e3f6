import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { PRODUCT_IDS, cachingCluster, get, isQuery, productInDb, queriesFromNow, sameProduct, show, type Product } from './helpers.ts';

test('1,000 reads of 10 products cost at most 10 queries, and every answer is right', async () => {
  const cluster = await cachingCluster();
  const expected = new Map(PRODUCT_IDS.map((id) => [id, productInDb(cluster, id)]));
  let wrong = 0;
  let example = '';
  for (let i = 0; i < 1000; i++) {
    const id = (i % 10) + 1;
    const answer = await get<Product>(cluster, `/products/${id}`);
    if (answer.status !== 200 || !sameProduct(answer.body, expected.get(id)!)) {
      wrong++;
      example ||= `GET /products/${id} answered ${show(answer)}, the database holds ${JSON.stringify(expected.get(id))}`;
    }
  }
  expect(wrong, `${wrong} of 1,000 answers were wrong, e.g. ${example}`).toBe(0);
  const queries = cluster.metrics.node('db').queries;
  evidence('the database queries the 1,000 reads cost', isQuery);
  expect(queries, `1,000 reads of 10 products cost ${queries} database queries; with cache-aside, each product is read from the database once and then from ctx.kv, so at most 10`).toBeLessThanOrEqual(10);
});

test('the cache lives in the key-value store: it survives a restart of app, and only there', async () => {
  const cluster = await cachingCluster();
  for (const id of PRODUCT_IDS) await get(cluster, `/products/${id}`);
  cluster.restart('app');
  cluster.metrics.reset();
  const afterRestart = queriesFromNow(cluster);
  for (const id of PRODUCT_IDS) {
    const answer = await get<Product>(cluster, `/products/${id}`);
    expect(sameProduct(answer.body, productInDb(cluster, id)), `after a restart, GET /products/${id} answered ${show(answer)}`).toBe(true);
  }
  const { queries, kvReads } = cluster.metrics.node('app');
  evidence('the database queries after app restarted', afterRestart);
  expect(queries, `after app restarted, reading the 10 products again cost ${queries} queries (and ${kvReads} key-value reads): keep cached values in ctx.kv, where they survive a restart and every clone sees them`).toBe(0);

  cluster.store('kv').flushAll();
  cluster.metrics.reset();
  for (const id of PRODUCT_IDS) await get(cluster, `/products/${id}`);
  const afterFlush = cluster.metrics.node('app').queries;
  expect(afterFlush, `the key-value store was emptied, yet reading the 10 products cost only ${afterFlush} queries: they are also cached in memory (a module-level Map?), which real clones do not share; keep cached values in ctx.kv only`).toBe(10);
});
