import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { PRODUCT_IDS, cachingCluster, get, productInDb, put, queriesFromNow, setPriceInDb, show, type Product, type ProductPage } from './helpers.ts';

/** The promise of this step: a change made behind the service's back shows within 60 s. */
const TTL_MS = 60_000;

test('a change made straight in the database shows within 60 s', async () => {
  const cluster = await cachingCluster();
  await get(cluster, '/products/5');
  await get(cluster, '/products/5/page');
  const price = productInDb(cluster, 5).priceCents + 250;
  // An engineer fixes the price in a SQL console: no PUT, so nothing deletes the cached copies.
  setPriceInDb(cluster, 5, price);

  cluster.metrics.reset();
  const again = queriesFromNow(cluster);
  await get(cluster, '/products/5');
  await get(cluster, '/products/5/page');
  const { queries } = cluster.metrics.node('app');
  evidence('the database queries of the second reads', again);
  expect(queries, `reading /products/5 and its page right after they were read cost ${queries} queries: step 4 builds on the cache of step 1, and it is the cache that can go stale`).toBe(0);

  await cluster.sleep(TTL_MS + 1000);
  const product = await get<Product>(cluster, '/products/5');
  expect(product.body?.priceCents, `GET /products/5 answered ${show(product)}, still stale after 61 s: give cached values an expiry, e.g. { ex: 60 }, so that a change made behind the service's back shows once it runs out (the new price is ${price})`).toBe(price);
  const page = await get<ProductPage>(cluster, '/products/5/page');
  expect(page.body?.product?.priceCents, `GET /products/5/page answered ${show(page)}, still stale after 61 s: give cached values an expiry, e.g. { ex: 60 }, the page's too (the new price is ${price})`).toBe(price);
});

test('every cached value expires within 60 s', async () => {
  const cluster = await cachingCluster();
  for (const id of PRODUCT_IDS) {
    await get(cluster, `/products/${id}`);
    await get(cluster, `/products/${id}/page`);
  }
  const store = cluster.store('kv');
  const keys = store.keys('*');
  evidence('the key-value commands the reads sent', (e) => e.type === 'kv');
  expect(keys.length, 'after reading every product and its page, the key-value store holds no key: step 4 builds on the cache of steps 1 and 2').toBeGreaterThan(0);
  const forever = keys.filter((key) => store.ttl(key) === -1);
  expect(forever.length, `${forever.length} keys never expire (${forever.slice(0, 4).join(', ')}${forever.length > 4 ? ', …' : ''}), so they stay stale forever once the database changes behind the service's back: give cached values an expiry, e.g. { ex: 60 }`).toBe(0);
  const tooLong = keys.filter((key) => store.ttl(key) > TTL_MS / 1000);
  const first = tooLong[0] ?? '';
  expect(tooLong.length, `${tooLong.length} keys expire after more than 60 s (${first} in ${store.ttl(first)} s); a stale value may be served for 60 s at most, so expire cached values within 60 s`).toBe(0);
});

test('a value that is read all the time still expires within 60 s', async () => {
  const cluster = await cachingCluster();
  await get(cluster, '/products/9');
  const price = productInDb(cluster, 9).priceCents + 300;
  setPriceInDb(cluster, 9, price);
  // A popular product: read every 5 s, so a read that pushes the expiry back keeps the old price forever.
  let answer = await get<Product>(cluster, '/products/9');
  for (let waited = 0; waited <= TTL_MS; waited += 5000) {
    await cluster.sleep(5000);
    answer = await get<Product>(cluster, '/products/9');
  }
  expect(answer.body?.priceCents, `GET /products/9, read every 5 s, still answered ${show(answer)} 65 s after the price changed in the database: each read pushed the expiry back, so a popular value never expires; set the expiry when the value is written, and do not extend it on a hit (the new price is ${price})`).toBe(price);
});

test('values written on the update path expire too', async () => {
  const cluster = await cachingCluster();
  await get(cluster, '/products/3');
  await get(cluster, '/products/3/page');
  await put(cluster, 3, { priceCents: 3600 });
  await get(cluster, '/products/3');
  await get(cluster, '/products/3/page');
  const store = cluster.store('kv');
  const forever = store.keys('*').filter((key) => store.ttl(key) === -1);
  expect(forever.length, `after PUT /products/3, ${forever.length} keys never expire (${forever.join(', ')}): a value written when a product changes (write-through) goes stale like any other once the database changes behind the service's back; give it the same expiry, e.g. { ex: 60 }`).toBe(0);
});
