import type { Handler, NodeContext } from '@scale-lab/kit';

/** How long a cached value may be served: the upper bound on staleness when a change bypasses the service. */
const CACHE_TTL_S = 60;
/** How long a rebuild lock lives if its holder never releases it (it crashed): longer than any rebuild. */
const LOCK_MS = 5000;
/** How often a clone that lost the race for the lock looks for the winner's value. */
const WAIT_MS = 20;

interface Product {
  id: number;
  name: string;
  priceCents: number;
}

interface Review {
  stars: number;
  body: string;
}

/** Everything the product page shows, from three tables. */
interface ProductPage {
  product: Product;
  reviews: Review[];
  stock: number;
}

interface ProductRow {
  id: number;
  name: string;
  price_cents: number;
}

/** The changes a PUT body asks for, or what is wrong with it. */
function parseChanges(body: unknown): { name?: string; priceCents?: number } | string {
  if (typeof body !== 'object' || body === null) return 'send a JSON object, e.g. { "priceCents": 1999 }';
  const { name, priceCents } = body as { name?: unknown; priceCents?: unknown };
  if (name !== undefined && (typeof name !== 'string' || name === '')) return 'name must be a non-empty string';
  if (priceCents !== undefined && !(typeof priceCents === 'number' && Number.isInteger(priceCents) && priceCents >= 0)) {
    return 'priceCents must be a whole number of cents, 0 or more';
  }
  return { name: name as string | undefined, priceCents: priceCents as number | undefined };
}

/**
 * The product service. `ctx.db` is the SQLite database (each statement costs 5 ms there);
 * `ctx.kv` is the shared key-value store, with string values as in Redis.
 */
export function createProductService(ctx: NodeContext): Handler {
  // Loads in progress, by key: concurrent misses on one key in this clone wait for the same load
  // (single-flight). It holds a promise only while it runs, never data, so the server stays stateless.
  const loading = new Map<string, Promise<unknown>>();

  /** Cache-aside: the value cached under `key`, else `load()` from the database, cached with an expiry. */
  function cached<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const pending = loading.get(key) as Promise<T | null> | undefined;
    if (pending) return pending;
    const flight = (async () => {
      const hit = await ctx.kv.get(key);
      if (hit !== null) return JSON.parse(hit) as T;
      return rebuild(key, load);
    })().finally(() => loading.delete(key));
    loading.set(key, flight);
    return flight;
  }

  /**
   * Loads `key` once across every clone: the clone that takes the lock in the shared store loads and
   * caches; the others wait for its value. The lock expires, in case its holder dies, and carries a
   * token, so that a holder whose lock expired meanwhile does not release the next holder's.
   */
  async function rebuild<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const lock = `lock:${key}`;
    const token = `${ctx.name}:${Math.floor(ctx.random() * 2 ** 48).toString(36)}`;
    for (;;) {
      if ((await ctx.kv.set(lock, token, { nx: true, px: LOCK_MS })) === 'OK') {
        try {
          const value = await load();
          // A product that does not exist is not cached: it is asked of the database again next time.
          if (value !== null) await ctx.kv.set(key, JSON.stringify(value), { ex: CACHE_TTL_S });
          return value;
        } finally {
          // Only if it is still ours, in one atomic step: a GET then a DEL could delete another's lock.
          await ctx.kv.delIfEquals(lock, token);
        }
      }
      // Another clone holds the lock: wait for its value, or for the lock to go (released, or expired).
      await ctx.sleep(WAIT_MS);
      const filled = await ctx.kv.get(key);
      if (filled !== null) return JSON.parse(filled) as T;
    }
  }

  async function loadProduct(id: number): Promise<Product | null> {
    const [row] = await ctx.db.query<ProductRow>('SELECT id, name, price_cents FROM products WHERE id = ?', [id]);
    return row ? { id: row.id, name: row.name, priceCents: row.price_cents } : null;
  }

  /** The product page: one query per table, cached as one object. */
  async function loadPage(id: number): Promise<ProductPage | null> {
    const product = await loadProduct(id);
    if (!product) return null;
    const reviews = await ctx.db.query<Review>('SELECT stars, body FROM reviews WHERE product_id = ? ORDER BY id', [id]);
    const [stock] = await ctx.db.query<{ quantity: number }>('SELECT quantity FROM stock WHERE product_id = ?', [id]);
    return { product, reviews, stock: stock?.quantity ?? 0 };
  }

  async function updateProduct(id: number, changes: { name?: string; priceCents?: number }): Promise<Product | null> {
    await ctx.db.run('UPDATE products SET name = COALESCE(?, name), price_cents = COALESCE(?, price_cents) WHERE id = ?', [
      changes.name ?? null,
      changes.priceCents ?? null,
      id,
    ]);
    // Database first, then delete every key that holds this product; the next read loads it afresh.
    await ctx.kv.del(`product:${id}`, `page:${id}`);
    return loadProduct(id);
  }

  return async (req) => {
    const url = new URL(req.url);
    const match = /^\/products\/(\d+)(\/page)?$/.exec(url.pathname);
    if (!match) return Response.json({ error: `no route for ${req.method} ${url.pathname}` }, { status: 404 });
    const id = Number(match[1]);
    const isPage = match[2] !== undefined;

    if (req.method === 'GET') {
      const found = isPage ? await cached(`page:${id}`, () => loadPage(id)) : await cached(`product:${id}`, () => loadProduct(id));
      if (!found) return Response.json({ error: `no product ${id}` }, { status: 404 });
      return Response.json(found);
    }

    if (req.method === 'PUT' && !isPage) {
      const changes = parseChanges(await req.json().catch(() => null));
      if (typeof changes === 'string') return Response.json({ error: changes }, { status: 400 });
      const product = await updateProduct(id, changes);
      if (!product) return Response.json({ error: `no product ${id}` }, { status: 404 });
      return Response.json(product);
    }

    return Response.json({ error: `${req.method} is not allowed on ${url.pathname}` }, { status: 405 });
  };
}
