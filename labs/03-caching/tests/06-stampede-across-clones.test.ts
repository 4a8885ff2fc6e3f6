import { expect, test } from 'vitest';
import { evidence } from '@scale-lab/kit';
import { APP_CLONES, cachingCluster, getAt, isQuery, pageInDb, putAt, show, type Answer, type ProductPage } from './helpers.ts';

/** How long a reader may wait for a page whose rebuilder died: the lock's expiry and one rebuild. */
const RECOVERY_MS = 10_000;
/** A clone waiting for another's build may send the store at most this many commands per ms (a look every 20 ms is two per 21 ms). */
const MAX_KV_OPS_PER_MS = 0.5;

test('a cold page asked for on three clones at once is built once', async () => {
  const cluster = await cachingCluster();
  const expected = pageInDb(cluster, 6);
  const asks = APP_CLONES.flatMap((clone) => Array.from({ length: 20 }, () => clone));
  const answers = await cluster.run(() => Promise.all(asks.map((clone) => getAt<ProductPage>(cluster, clone, '/products/6/page'))));
  const wrong = answers.map((answer, i) => ({ answer, clone: asks[i]! })).filter(({ answer }) => JSON.stringify(answer.body) !== JSON.stringify(expected));
  expect(wrong.length, `${wrong.length} of 60 concurrent GET /products/6/page got a wrong answer, e.g. ${wrong[0]?.clone} answered ${wrong[0] ? show(wrong[0].answer) : ''}: a request that finds the lock taken should wait for the winner's value and answer with it`).toBe(0);
  const { queries } = cluster.metrics.node('db');
  evidence('the database queries of the 60 concurrent misses', isQuery);
  expect(queries, `60 concurrent misses on page 6, spread over app, app-2 and app-3, cost ${queries} queries (building the page once takes 3): single-flight coalesces only inside one clone; take a lock in the shared store, e.g. ctx.kv.set(\`lock:\${key}\`, token, { nx: true, px: 5000 }), so that one clone builds and the others wait for its value`).toBe(3);
  for (const clone of APP_CLONES) {
    expect(cluster.metrics.node(clone).kvOps, `${clone} answered its 20 misses on page 6 without a single command to the key-value store: its requests waited on another clone's load through memory that the simulated clones share (a module-level Map?); real clones are separate processes, so keep the map of loads in progress inside createProductService, and take the lock in the store`).toBeGreaterThan(0);
  }
});

test('a slow build (150 ms per query) is still built once: the others keep waiting, and the lock outlives it', async () => {
  const cluster = await cachingCluster();
  const expected = pageInDb(cluster, 6);
  cluster.slow('db', 150);
  const asks = APP_CLONES.flatMap((clone) => Array.from({ length: 5 }, () => clone));
  const start = cluster.clock.now();
  const answers = await cluster.run(() => Promise.all(asks.map((clone) => getAt<ProductPage>(cluster, clone, '/products/6/page'))));
  const took = cluster.clock.now() - start;
  const wrong = answers.map((answer, i) => ({ answer, clone: asks[i]! })).filter(({ answer }) => JSON.stringify(answer.body) !== JSON.stringify(expected));
  expect(wrong.length, `with a slow database, ${wrong.length} of 15 concurrent GET /products/6/page got a wrong answer, e.g. ${wrong[0]?.clone} answered ${wrong[0] ? show(wrong[0].answer) : ''} after ${took} ms: a clone that lost the race must wait for the winner's value for as long as the lock is held, not give up after a few tries`).toBe(0);
  const { queries } = cluster.metrics.node('db');
  evidence('the database queries of the 15 concurrent misses', isQuery);
  expect(queries, `with the database taking 150 ms per query, 15 concurrent misses on page 6 over three clones cost ${queries} queries (building the page once takes 3) in ${took} ms: the clones that lost the race gave up waiting, or the lock expired during the build; keep waiting while the lock is held, and give the lock an expiry longer than the slowest build, e.g. px: 5000`).toBe(3);
  // The losers wait, but not by asking the store again and again: that moves the stampede onto it.
  const busiest = APP_CLONES.map((clone) => ({ clone, ops: cluster.metrics.node(clone).kvOps })).sort((a, b) => b.ops - a.ops)[0]!;
  evidence(`${busiest.clone}'s key-value commands while page 6 was built`, (e) => e.type === 'kv' && e.from === busiest.clone);
  expect(busiest.ops, `while page 6 was built (${took} ms), ${busiest.clone} sent ${busiest.ops} key-value commands, one every ${(took / busiest.ops).toFixed(1)} ms: a clone that lost the race and looks again without pausing floods the shared store, moving the stampede from the database to the cache; sleep a little between looks, e.g. await ctx.sleep(20)`).toBeLessThanOrEqual(MAX_KV_OPS_PER_MS * took);
});

test('with the store 10 ms away, each of four cold pages asked for on three clones at once is still built once', async () => {
  const cluster = await cachingCluster();
  // Every command to the store now takes 20 ms there and back: wide enough that a loser looking at
  // the store can fall between a release of the lock and the caching of the value, if the winner
  // does them in that order.
  for (const clone of APP_CLONES) cluster.link(clone, 'kv', { latency: 10 });
  const ids = [2, 5, 7, 9];
  const asks = ids.flatMap((id) => APP_CLONES.map((clone) => ({ id, clone })));
  const answers = await cluster.run(() => Promise.all(asks.map(({ id, clone }) => getAt<ProductPage>(cluster, clone, `/products/${id}/page`))));
  const wrong = answers.filter((answer, i) => JSON.stringify(answer.body) !== JSON.stringify(pageInDb(cluster, asks[i]!.id)));
  expect(wrong.length, `with the store 10 ms away, ${wrong.length} of ${asks.length} concurrent GET /products/:id/page got a wrong answer, e.g. ${wrong[0] ? show(wrong[0]) : ''}`).toBe(0);
  const { queries } = cluster.metrics.node('db');
  evidence('the key-value commands and queries of the concurrent misses', (e) => e.type === 'kv' || e.type === 'query');
  expect(queries, `with the store 10 ms away, concurrent misses on ${ids.length} pages over three clones cost ${queries} queries (building them once takes ${3 * ids.length}): a page was built again by a clone that found neither the value nor the lock; cache the value first and release the lock after, never the other way round`).toBe(3 * ids.length);
});

test('misses on different pages are built side by side, and each lock is released when its build is done', async () => {
  const cluster = await cachingCluster();
  const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const asks = ids.map((id, i) => ({ id, clone: APP_CLONES[i % APP_CLONES.length]! }));
  const start = cluster.clock.now();
  const answers = await cluster.run(() => Promise.all(asks.map(({ id, clone }) => getAt<ProductPage>(cluster, clone, `/products/${id}/page`))));
  const took = cluster.clock.now() - start;
  const wrong = answers.filter((answer, i) => JSON.stringify(answer.body) !== JSON.stringify(pageInDb(cluster, asks[i]!.id)));
  expect(wrong.length, `${wrong.length} of 10 concurrent GET /products/:id/page for 10 different products got a wrong answer, e.g. ${wrong[0] ? show(wrong[0]) : ''}`).toBe(0);
  evidence('the key-value commands of the 10 concurrent misses', (e) => e.type === 'kv');
  // Built side by side, the ten pages take about 20 ms; one after another, ten times that.
  expect(took, `10 concurrent misses on 10 different pages, over three clones, took ${took} ms, where building them side by side takes about 20: each build waited for another page's; name the lock after the key it guards, e.g. lock:page:7, so that only misses on the same key wait for each other`).toBeLessThanOrEqual(100);

  // Page 6 changes at once: the next read must build it again, without waiting for the last build's lock.
  const price = pageInDb(cluster, 6).product.priceCents + 100;
  await putAt(cluster, 'app-2', 6, { priceCents: price });
  const again = cluster.clock.now();
  const answer = await getAt<ProductPage>(cluster, 'app-3', '/products/6/page');
  const waited = cluster.clock.now() - again;
  expect(answer.body?.product?.priceCents, `after an update, GET /products/6/page on app-3 answered ${show(answer)}`).toBe(price);
  expect(waited, `right after page 6 was built and then updated, GET /products/6/page on app-3 waited ${waited} ms: the lock of the last build was still held; release it as soon as the value is cached (ctx.kv.delIfEquals(lock, token) in finally), the expiry is only for a holder that died`).toBeLessThanOrEqual(500);
});

test('a clone that dies while it holds the lock does not block the others for long', async () => {
  const cluster = await cachingCluster();
  const expected = pageInDb(cluster, 6);
  let died = false;
  const off = cluster.metrics.on((event) => {
    if (!died && event.type === 'query' && event.from === 'app-2') {
      // app-2 has taken the lock and started building the page: it crashes there. (Cut off too, so
      // that no code of the dead clone can still release the lock.)
      died = true;
      cluster.kill('app-2');
      cluster.partition(['app-2']);
    }
  });
  await getAt(cluster, 'app-2', '/products/6/page');
  off();
  expect(died, 'GET /products/6/page on app-2 sent no query: was page 6 already cached on a cold start?').toBe(true);
  const start = cluster.clock.now();
  const answer = await getAt<ProductPage>(cluster, 'app-3', '/products/6/page', RECOVERY_MS + 5000);
  const waited = cluster.clock.now() - start;
  expect(answer.body, `app-2 died while it held the lock for page 6, and GET /products/6/page on app-3 answered ${answer.status === 0 ? 'nothing' : show(answer)} after ${waited} ms: a lock with no expiry is held forever by a clone that crashed; give it one, e.g. { nx: true, px: 5000 }`).toEqual(expected);
  expect(waited, `app-2 died while it held the lock for page 6, and app-3 needed ${waited} ms to answer the page: give the lock a short expiry, e.g. { nx: true, px: 5000 }, so a crashed holder costs seconds, not minutes`).toBeLessThanOrEqual(RECOVERY_MS);
});

/**
 * app-2 takes the lock for page 6 and starts building. When `moment` says so, its lock is taken over:
 * as if the build had been so slow that the lock expired and app-3 took it. Then app-2 finishes.
 * Returns the lock's key, whether it was taken over, and whether it still exists once app-2 has answered.
 */
async function lockTakenOver(cluster: Awaited<ReturnType<typeof cachingCluster>>, moment: 'first query' | 'lock read'): Promise<{ lock?: string; takenOver: boolean; held: 'kept' | 'deleted' }> {
  const store = cluster.store('kv');
  let lock: string | undefined;
  let done = false;
  let other: Promise<Answer<ProductPage>> | undefined;
  const off = cluster.metrics.on((event) => {
    if (done || (event.type !== 'kv' && event.type !== 'query') || event.from !== 'app-2') return;
    if (event.type === 'kv' && event.command === 'SET' && lock === undefined) lock = event.key;
    else if (lock !== undefined && moment === 'first query' && event.type === 'query') {
      done = true;
      store.del([lock]);
      other = getAt<ProductPage>(cluster, 'app-3', '/products/6/page');
    } else if (lock !== undefined && moment === 'lock read' && event.type === 'kv' && event.command === 'GET' && event.key === lock) {
      // Between app-2's read of its lock and whatever it does next.
      done = true;
      store.del([lock]);
      store.set(lock, 'app-3:a-token-of-its-own', { px: 5000 });
    }
  });
  await getAt(cluster, 'app-2', '/products/6/page');
  off();
  const held = lock !== undefined && store.get(lock) !== null ? 'kept' : 'deleted';
  if (other) await cluster.run(other);
  return { lock, takenOver: done, held };
}

test("a clone whose lock expired during a slow build does not release the next holder's lock", async () => {
  const cluster = await cachingCluster();
  const { lock, held } = await lockTakenOver(cluster, 'first query');
  evidence("app-2's key-value commands while it built page 6", (e) => e.type === 'kv' && e.from === 'app-2');
  expect(lock, 'app-2 built page 6 without setting any key first: take a lock in the shared store before building').toBeDefined();
  expect(held, `app-2's lock ${lock} expired while it built page 6 and app-3 took it; when app-2 finished, it deleted app-3's lock, so a third clone could start a third build: put a token of your own in the lock (e.g. from ctx.random()) and release only if the lock still holds it`).toBe('kept');
});

test('the lock is released in one atomic step, compare and delete', async () => {
  const cluster = await cachingCluster();
  const { lock, takenOver, held } = await lockTakenOver(cluster, 'lock read');
  evidence("app-2's key-value commands while it built page 6", (e) => e.type === 'kv' && e.from === 'app-2');
  expect(lock, 'app-2 built page 6 without setting any key first: take a lock in the shared store before building').toBeDefined();
  // A release that never reads the lock (delIfEquals) gives this race no moment to happen.
  if (!takenOver) return;
  expect(held, `app-2 read its lock ${lock}, found its own token, and deleted the lock; between the GET and the DEL the lock had expired and app-3 had taken it, so app-3's lock was deleted: compare and delete in one atomic step, await ctx.kv.delIfEquals(lock, token)`).toBe('kept');
});
