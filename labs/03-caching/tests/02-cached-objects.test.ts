import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { PRODUCT_IDS, cachingCluster, get, pageInDb, queriesFromNow, show, type ProductPage } from './helpers.ts';

test('a warm product page costs one key-value read and no query', async () => {
  const cluster = await cachingCluster();
  const expected = pageInDb(cluster, 3);
  const cold = await get<ProductPage>(cluster, '/products/3/page');
  expect(cold.body, `the first GET /products/3/page answered ${show(cold)}; it should hold the product, its reviews and its stock`).toEqual(expected);

  cluster.metrics.reset();
  const warmQueries = queriesFromNow(cluster);
  const warm = await get<ProductPage>(cluster, '/products/3/page');
  expect(warm.body, `the second GET /products/3/page answered ${show(warm)}, not the page the database holds`).toEqual(expected);
  const { queries, kvReads, cacheHits, cacheMisses } = cluster.metrics.node('app');
  evidence('the database queries of the warm page', warmQueries);
  expect(queries, `a warm page (GET /products/3/page a second time) still cost ${queries} queries: cache the page in ctx.kv, as you cached products in step 1`).toBe(0);
  expect(
    kvReads,
    kvReads === 0
      ? 'the warm page made no key-value read: was the page kept in the app\'s memory? Keep cached values in ctx.kv, which every clone shares'
      : `${kvReads} key-value reads for one warm page: cache the assembled page as one object, under one key such as page:3, so that a hit is a single read`,
  ).toBe(1);
  const keys = cacheHits + cacheMisses;
  evidence('the key-value reads of the warm page', (e) => e.type === 'kv' && e.from === 'app');
  expect(keys, `the warm page read ${keys} keys in one MGET: those are cached queries, fetched together, and a write still has to know every one of them; cache the assembled page as one object, under one key such as page:3`).toBe(1);
});

test('every product has its own cached page, and each one is right', async () => {
  const cluster = await cachingCluster();
  for (const id of PRODUCT_IDS) {
    const cold = await get<ProductPage>(cluster, `/products/${id}/page`);
    expect(cold.body, `the first GET /products/${id}/page answered ${show(cold)}, not the page the database holds`).toEqual(pageInDb(cluster, id));
  }
  cluster.metrics.reset();
  const warmQueries = queriesFromNow(cluster);
  for (const id of PRODUCT_IDS) {
    const warm = await get<ProductPage>(cluster, `/products/${id}/page`);
    expect(warm.body, `warm, GET /products/${id}/page answered ${show(warm)}, not the page of product ${id}: does each product have its own key, e.g. page:${id}?`).toEqual(pageInDb(cluster, id));
  }
  const { queries, kvReads } = cluster.metrics.node('app');
  evidence('the database queries of the 10 warm pages', warmQueries);
  expect(queries, `the 10 warm pages still cost ${queries} queries: cache each assembled page in ctx.kv`).toBe(0);
  expect(kvReads, `the 10 warm pages cost ${kvReads} key-value reads: cache the assembled page as one object, so that each warm page is a single read`).toBe(10);
});

test('a product and its page are cached under keys of their own', async () => {
  const cluster = await cachingCluster();
  const expected = pageInDb(cluster, 6);
  // The product first, then its page, then both again warm: each endpoint must keep its own shape.
  await get(cluster, '/products/6');
  const page = await get<ProductPage>(cluster, '/products/6/page');
  expect(page.body, `after GET /products/6, GET /products/6/page answered ${show(page)}, the product itself instead of its page: do the product and its page share a cache key? Give each its own, e.g. product:6 and page:6`).toEqual(expected);
  const product = await get<ProductPage>(cluster, '/products/6');
  expect(product.body, `after GET /products/6/page, GET /products/6 answered ${show(product)}, the page instead of the product: do the product and its page share a cache key? Give each its own, e.g. product:6 and page:6`).toEqual(expected.product);
});
