import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { cachingCluster, get, getAt, productInDb, put, putAt, queriesFromNow, show, type Product, type ProductPage } from './helpers.ts';

test('after PUT /products/4, both endpoints show the new price, and reads are cached again', async () => {
  const cluster = await cachingCluster();
  await get(cluster, '/products/4');
  await get(cluster, '/products/4/page');
  const before = productInDb(cluster, 4);
  const price = before.priceCents + 500;

  const updated = await put(cluster, 4, { priceCents: price });
  expect(updated.body, `PUT /products/4 with { priceCents: ${price} } answered ${show(updated)}; it should answer the updated product`).toEqual({ ...before, priceCents: price });
  expect(productInDb(cluster, 4).priceCents, 'PUT /products/4 did not change the price in the database').toBe(price);

  const product = await get<Product>(cluster, '/products/4');
  expect(product.body?.priceCents, `GET /products/4 returned the old price after PUT: delete the cached keys when the product changes (it answered ${show(product)}; the new price is ${price})`).toBe(price);
  const page = await get<ProductPage>(cluster, '/products/4/page');
  expect(page.body?.product, `GET /products/4/page answered ${show(page)} after PUT, not a page: a page holds { product, reviews, stock }`).toBeDefined();
  expect(page.body?.product?.priceCents, `GET /products/4/page returned the old price after PUT: delete the cached keys when the product changes, the page's as well as the product's (it answered ${show(page)}; the new price is ${price})`).toBe(price);

  cluster.metrics.reset();
  const again = queriesFromNow(cluster);
  await get(cluster, '/products/4');
  await get(cluster, '/products/4/page');
  const { queries } = cluster.metrics.node('app');
  evidence('the database queries of the second reads', again);
  expect(queries, `after the update, reading /products/4 and its page a second time still cost ${queries} queries: step 3 builds on the cache of step 1, so the first read after a change fills the cache again and the next ones hit it`).toBe(0);
});

test('a read on another clone right after the PUT answered sees the change', async () => {
  const cluster = await cachingCluster();
  await get(cluster, '/products/7');
  await get(cluster, '/products/7/page');
  const price = productInDb(cluster, 7).priceCents + 700;
  // app, which takes the PUT, is 50 ms from the store; the clones that read afterwards are close to it.
  cluster.link('app', 'kv', { latency: 50 });
  const updated = await put(cluster, 7, { priceCents: price });
  expect(updated.status, `PUT /products/7 answered ${show(updated)}`).toBe(200);
  const product = await getAt<Product>(cluster, 'app-2', '/products/7');
  const page = await getAt<ProductPage>(cluster, 'app-3', '/products/7/page');
  evidence('the PUT, its key-value commands and the reads after it', (e) => e.type === 'kv' || e.type === 'query');
  const late = 'the PUT answered before its delete of the cached keys had reached the store (a delete not awaited?), so a client that reads right after its own update sees the old data; await ctx.kv.del(…) before answering';
  expect(product.body?.priceCents, `right after PUT /products/7 answered, GET /products/7 on app-2 answered ${show(product)}, the old price: ${late} (the new price is ${price})`).toBe(price);
  expect(page.body?.product?.priceCents, `right after PUT /products/7 answered, GET /products/7/page on app-3 answered ${show(page)}, the old price: ${late} (the new price is ${price})`).toBe(price);
});

test('renaming one product leaves the others cached', async () => {
  const cluster = await cachingCluster();
  for (const path of ['/products/4', '/products/4/page', '/products/5', '/products/5/page']) await get(cluster, path);
  const before = productInDb(cluster, 4);

  await put(cluster, 4, { name: 'Waterproof Hiking Jacket, 2nd edition' });
  const product = await get<Product>(cluster, '/products/4');
  expect(product.body, `GET /products/4 answered ${show(product)} after a PUT that renamed it: delete the cached keys when the product changes`).toEqual({ ...before, name: 'Waterproof Hiking Jacket, 2nd edition' });
  const page = await get<ProductPage>(cluster, '/products/4/page');
  expect(page.body?.product?.name, `GET /products/4/page answered ${show(page)} after a PUT that renamed the product: delete the cached keys when the product changes, the page's as well as the product's`).toBe('Waterproof Hiking Jacket, 2nd edition');

  cluster.metrics.reset();
  const other = queriesFromNow(cluster);
  await get(cluster, '/products/5');
  await get(cluster, '/products/5/page');
  const { queries, kvReads } = cluster.metrics.node('app');
  evidence('the database queries of reading product 5 and its page', other);
  expect(
    queries,
    kvReads === 0
      ? `reading product 5 and its page cost ${queries} queries: step 3 builds on the cache of step 1`
      : `after a change to product 4, reading product 5 and its page cost ${queries} queries: delete only the keys of the product that changed (e.g. product:4 and page:4), not the whole cache`,
  ).toBe(0);
});

test('reads that arrive while a PUT runs do not put the old price back in the cache', async () => {
  const cluster = await cachingCluster();
  await get(cluster, '/products/2');
  const price = productInDb(cluster, 2).priceCents + 100;
  // app, which takes the PUT, is 20 ms from the database; app-2 reads product 2 every millisecond
  // meanwhile, so some of its reads run while the update is on its way.
  cluster.link('app', 'db', { latency: 20 });
  await cluster.run(async () => {
    const reads = Array.from({ length: 40 }, async (_, i) => {
      await cluster.sleep(i);
      return getAt(cluster, 'app-2', '/products/2');
    });
    await Promise.all([put(cluster, 2, { priceCents: price }), ...reads]);
  });
  await cluster.sleep(10);
  const after = await get<Product>(cluster, '/products/2');
  expect(after.body?.priceCents, `after a PUT and reads at the same moment had all finished, GET /products/2 answered ${show(after)}, the old price, and it will until the TTL runs out: a read ran between your delete and the UPDATE and cached the old row again; write the database first, then delete (the new price is ${price})`).toBe(price);
});

test('two updates at once, on two clones, leave no old value in the cache', async () => {
  const cluster = await cachingCluster();
  await get(cluster, '/products/1');
  await get(cluster, '/products/1/page');
  // Both clones update product 1 at the same moment. app's update reaches the database first, but
  // its commands to the store travel 100 ms; app-2's update lands second, and its commands arrive first.
  cluster.link('app', 'kv', { latency: 100 });
  cluster.link('app-2', 'db', { latency: 10 });
  await cluster.run(() => Promise.all([putAt(cluster, 'app', 1, { priceCents: 11_100 }), putAt(cluster, 'app-2', 1, { priceCents: 22_200 })]));
  await cluster.sleep(100);
  const price = productInDb(cluster, 1).priceCents;
  const product = await getAt<Product>(cluster, 'app-3', '/products/1');
  const page = await getAt<ProductPage>(cluster, 'app-3', '/products/1/page');
  evidence('the key-value commands of the two updates', (e) => e.type === 'kv' && (e.from === 'app' || e.from === 'app-2'));
  const why = `two PUT /products/1 ran at the same moment on app and app-2, the database kept ${price} (the update that landed last), yet`;
  const fix = 'writing new values into the cache on an update lets two writers\' SETs arrive in the opposite order to their UPDATEs; delete the keys instead (database first, then delete), and let the next read load the row';
  expect(product.body?.priceCents, `${why} GET /products/1 answered ${show(product)}: ${fix}`).toBe(price);
  expect(page.body?.product?.priceCents, `${why} GET /products/1/page answered ${show(page)}: ${fix}`).toBe(price);
});
