import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { PRODUCT_IDS, cachingCluster, get, getAll, isQuery, pageInDb, productInDb, sameProduct, show, type Product, type ProductPage } from './helpers.ts';

test('100 concurrent requests for one product on a cold cache cost 1 query', async () => {
  const cluster = await cachingCluster();
  const expected = productInDb(cluster, 7);
  const answers = await getAll<Product>(cluster, Array.from({ length: 100 }, () => '/products/7'));
  const wrong = answers.filter((a) => a.status !== 200 || !sameProduct(a.body, expected));
  expect(wrong.length, `${wrong.length} of 100 concurrent GET /products/7 got a wrong answer, e.g. ${wrong[0] ? show(wrong[0]) : ''}; every request that waits on a shared load must get its result`).toBe(0);
  const { queries } = cluster.metrics.node('db');
  evidence('the database queries of the 100 concurrent misses', isQuery);
  expect(queries, `100 concurrent misses cost ${queries} queries: let concurrent misses on one key share one load (single-flight)`).toBe(1);
  const { kvOps } = cluster.metrics.node('app');
  expect(kvOps, `100 concurrent misses on one clone sent ${kvOps} commands to the key-value store: the requests that wait should wait on the load in progress inside the clone (a Map from key to its promise), not each poll the store`).toBeLessThanOrEqual(10);

  cluster.metrics.reset();
  await get(cluster, '/products/7');
  expect(cluster.metrics.node('db').queries, 'after the 100 concurrent requests, one more GET /products/7 still cost a query: the shared load should also fill the cache').toBe(0);
});

test('50 concurrent requests for one page on a cold cache cost its 3 queries once', async () => {
  const cluster = await cachingCluster();
  const expected = pageInDb(cluster, 8);
  const answers = await getAll<ProductPage>(cluster, Array.from({ length: 50 }, () => '/products/8/page'));
  answers.forEach((answer, i) => {
    expect(answer.body, `answer ${i + 1} of 50 concurrent GET /products/8/page was ${show(answer)}, not the page the database holds; every request that waits on a shared load must get its result`).toEqual(expected);
  });
  const { queries } = cluster.metrics.node('db');
  evidence('the database queries of the 50 concurrent misses', isQuery);
  expect(queries, `50 concurrent misses on one page cost ${queries} queries, where building it once takes 3: let concurrent misses on one key share one load (single-flight)`).toBe(3);
});

test('concurrent requests for different products each get their own product', async () => {
  const cluster = await cachingCluster();
  const paths = Array.from({ length: 100 }, (_, i) => `/products/${(i % 10) + 1}`);
  const answers = await getAll<Product>(cluster, paths);
  answers.forEach((answer, i) => {
    const id = (i % 10) + 1;
    expect(sameProduct(answer.body, productInDb(cluster, id)), `concurrent GET /products/${id} answered ${show(answer)}: share a load only between requests for the same key`).toBe(true);
  });
  const { queries } = cluster.metrics.node('db');
  evidence('the database queries of the 100 concurrent requests', isQuery);
  expect(queries, `100 concurrent requests for 10 products cost ${queries} queries; one load per key makes 10: let concurrent misses on one key share one load (single-flight)`).toBe(10);
});

test('concurrent requests for a product and for its page each get their own answer, and a failed load is not kept', async () => {
  const cluster = await cachingCluster();
  const paths = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? '/products/7' : '/products/7/page'));
  const answers = await getAll<unknown>(cluster, paths);
  answers.forEach((answer, i) => {
    const want = paths[i] === '/products/7' ? productInDb(cluster, 7) : pageInDb(cluster, 7);
    expect(answer.body, `concurrent GET ${paths[i]} answered ${show(answer)}: a product and its page are two loads under two keys, even with the same id; key your loads in progress by cache key, not by product id`).toEqual(want);
  });

  // The database goes down for a moment: a load that fails must not be handed to the requests after it.
  cluster.kill('db');
  const during = await get(cluster, '/products/3');
  cluster.revive('db');
  await cluster.sleep(100);
  const after = await get<Product>(cluster, '/products/3');
  evidence('the requests to app, and its queries', (e) => (e.type === 'request' && e.node === 'app') || e.type === 'query');
  expect(sameProduct(after.body, productInDb(cluster, 3)), `the database was down for a moment (GET /products/3 answered ${during.status} meanwhile), and once it was back GET /products/3 answered ${show(after)}: the failed load stayed in your map of loads in progress, and every request after it got its error; remove the entry when the load settles, failed or not (in finally)`).toBe(true);
});
