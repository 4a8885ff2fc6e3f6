import { describe, expect, test } from 'vitest';
import { Cluster, type NodeFactory } from '@scale-lab/kit';

/** An origin whose paths answer with the caching headers their names say; counts what it serves. */
function origin(served: string[]): NodeFactory {
  const headers: Record<string, Record<string, string>> = {
    '/fresh': { 'cache-control': 'max-age=60' },
    '/shared': { 'cache-control': 's-maxage=30, max-age=0' },
    '/private': { 'cache-control': 'private, max-age=60' },
    '/nostore': { 'cache-control': 'no-store' },
    '/etag': { 'cache-control': 'no-cache', etag: '"v1"' },
    '/swr': { 'cache-control': 'max-age=10, stale-while-revalidate=60' },
    '/sie': { 'cache-control': 'max-age=10, stale-if-error=60' },
    '/strict': { 'cache-control': 'max-age=10, must-revalidate' },
    '/lang': { 'cache-control': 'max-age=60', vary: 'accept-language' },
  };
  return (ctx) => async (req) => {
    const url = new URL(req.url);
    served.push(`${url.pathname}${url.search}`);
    const h = headers[url.pathname] ?? { 'cache-control': 'max-age=60' };
    if (h.etag && req.headers.get('if-none-match') === h.etag) return new Response(null, { status: 304, headers: h });
    const lang = req.headers.get('accept-language') ?? 'en';
    return new Response(`${url.pathname} ${lang} @${ctx.now()}`, { headers: h });
  };
}

function edgeCluster(options: { maxBytes?: number; key?: (r: Request) => string } = {}) {
  const served: string[] = [];
  const cluster = new Cluster({ latency: 5 }).addNode('origin', origin(served));
  const cache = cluster.addEdge('edge', { origin: 'origin', ...options });
  const get = async (path: string, headers?: Record<string, string>) => {
    const res = await cluster.fetch(`http://edge${path}`, { headers });
    return `${res.status} ${res.headers.get('x-cache')} ${await res.text()}`;
  };
  return { cluster, cache, served, get };
}

describe('edge cache (shared)', () => {
  test('max-age: a hit until it is stale, then a miss; hits cost no trip to the origin', async () => {
    const { cluster, cache, served, get } = edgeCluster();
    expect(await get('/fresh')).toBe('200 MISS /fresh en @10');
    expect(cluster.clock.now()).toBe(20);
    expect(await get('/fresh')).toBe('200 HIT /fresh en @10');
    expect(cluster.clock.now()).toBe(30);
    await cluster.sleep(60_000);
    expect(await get('/fresh')).toBe('200 MISS /fresh en @60040');
    expect(served).toEqual(['/fresh', '/fresh']);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, entries: 1, bytesFromOrigin: 29 });
    expect(cluster.metrics.node('edge')).toMatchObject({ cacheHits: 1, cacheMisses: 2 });
  });

  test('s-maxage applies to a shared cache; private and no-store are never stored there', async () => {
    const { cluster, get } = edgeCluster();
    await get('/shared');
    expect(await get('/shared')).toMatch(/^200 HIT/);
    for (const path of ['/private', '/nostore']) {
      await get(path);
      expect(await get(path)).toMatch(/^200 MISS/);
    }
    await cluster.sleep(30_000);
    expect(await get('/shared')).toMatch(/^200 MISS/);
  });

  test('no-cache with an ETag: every request revalidates; a 304 sends no body', async () => {
    const { cache, get } = edgeCluster();
    expect(await get('/etag')).toBe('200 MISS /etag en @10');
    expect(await get('/etag')).toBe('200 REVALIDATED /etag en @10');
    expect(cache.stats()).toMatchObject({ misses: 1, revalidations: 1, bytesFromOrigin: 12 });
  });

  test('stale-while-revalidate answers stale at once and refreshes in the background', async () => {
    const { cluster, served, get } = edgeCluster();
    await get('/swr');
    await cluster.sleep(10_000);
    expect(await get('/swr')).toBe('200 STALE /swr en @10');
    await cluster.sleep(100);
    expect(served).toEqual(['/swr', '/swr']);
    // Revalidated when the stale answer was sent: the origin answered at 10030.
    expect(await get('/swr')).toBe('200 HIT /swr en @10030');
  });

  test('stale-if-error serves the stale copy while the origin is down; must-revalidate never does', async () => {
    const { cluster, get } = edgeCluster();
    await get('/sie');
    await get('/strict');
    await cluster.sleep(20_000);
    cluster.kill('origin');
    expect(await get('/sie')).toBe('200 STALE /sie en @10');
    expect(await get('/strict')).toMatch(/^502 null edge: the origin origin did not answer/);
    await cluster.sleep(60_000);
    expect(await get('/sie')).toMatch(/^502 /);
  });

  test('Vary keeps one copy per header value', async () => {
    const { served, get } = edgeCluster();
    expect(await get('/lang', { 'accept-language': 'fr' })).toBe('200 MISS /lang fr @10');
    expect(await get('/lang', { 'accept-language': 'de' })).toBe('200 MISS /lang de @30');
    expect(await get('/lang', { 'accept-language': 'fr' })).toBe('200 HIT /lang fr @10');
    expect(served).toEqual(['/lang', '/lang']);
  });

  test('a lab-supplied key, purge, and a size limit that evicts the least recently used', async () => {
    const { cache, served, get } = edgeCluster({ key: (r) => new URL(r.url).pathname, maxBytes: 20 });
    await get('/a?utm=1');
    expect(await get('/a?utm=2')).toMatch(/^200 HIT/);
    expect(cache.purge('/a')).toBe(1);
    expect(await get('/a')).toMatch(/^200 MISS/);
    await get('/b');
    await get('/a');
    await get('/c');
    // 9 bytes each: two fit in 20, and /b, the least recently used, goes.
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 18 });
    expect(await get('/b')).toMatch(/^200 MISS/);
    expect(served).toEqual(['/a?utm=1', '/a', '/b', '/c', '/b']);
  });

  test('a successful POST invalidates what is stored for its URL', async () => {
    const { cluster, get } = edgeCluster();
    await get('/fresh');
    const post = await cluster.fetch('http://edge/fresh', { method: 'POST', body: 'x' });
    expect(post.headers.get('x-cache')).toBe('PASS');
    expect(await get('/fresh')).toMatch(/^200 MISS/);
  });
});

describe('private cache in a client', () => {
  test('a browser cache keeps private responses, not s-maxage-only ones', async () => {
    const served: string[] = [];
    const cluster = new Cluster({ latency: 5 }).addNode('origin', origin(served));
    const alice = cluster.client('alice', { cache: true });
    for (const path of ['/private', '/private', '/shared', '/shared']) await alice.fetch(`http://origin${path}`);
    expect(served).toEqual(['/private', '/shared', '/shared']);
    expect(alice.cache?.stats()).toMatchObject({ hits: 1, misses: 3 });
    expect(cluster.metrics.node('alice')).toMatchObject({ cacheHits: 1, cacheMisses: 3 });
  });
});
