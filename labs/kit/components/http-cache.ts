/**
 * HTTP caches that obey the origin's headers: an edge node in front of an origin (a shared cache)
 * and a client's private cache (a browser's). The caching rules (max-age, s-maxage, private,
 * no-store, no-cache, must-revalidate, stale-while-revalidate, stale-if-error, Vary, validators)
 * are `http-cache-semantics`'s; this file stores bodies, sends revalidations, keeps a size limit
 * and counts. The library reads `Date.now()`: its policies read the cluster's clock instead.
 */
import CachePolicy from 'http-cache-semantics';
import type { Clock } from '../clock.ts';
import { messageOf } from '../node.ts';
import type { NodeFactory } from './http-node.ts';

/** What happened to one request at a cache. */
export type CacheOutcome =
  /** Answered from the cache, fresh. */
  | 'hit'
  /** Answered from the cache, stale (stale-while-revalidate, or stale-if-error when the origin failed). */
  | 'stale'
  /** Asked the origin whether its copy is still good; it was (304). */
  | 'revalidated'
  /** Not in the cache, or not usable: fetched from the origin. */
  | 'miss'
  /** Not cacheable by method (POST, PUT…): passed to the origin. */
  | 'pass';

export interface CacheStats {
  hits: number;
  stale: number;
  revalidations: number;
  misses: number;
  passes: number;
  /** Body bytes received from the origin. */
  bytesFromOrigin: number;
  /** Stored responses, and their body bytes. */
  entries: number;
  bytes: number;
}

export interface HttpCacheOptions {
  /** A shared cache (an edge, a CDN) or a private one (a browser's). */
  shared: boolean;
  /** Most body bytes kept; the least recently used responses go first (default: no limit). */
  maxBytes?: number;
}

interface Entry {
  policy: CachePolicy;
  status: number;
  /** The request's values of the headers the response varies on, by name. */
  vary: Record<string, string | undefined>;
  body: Uint8Array;
  /** The request URL it answers, for invalidation by unsafe methods. */
  url: string;
}

type PolicyRequest = CachePolicy.Request;

function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => (out[name] = value));
  return out;
}

export class HttpCache {
  readonly #clock: Clock;
  readonly #options: HttpCacheOptions;
  /** Variants by cache key, most recently used key last (Map keeps insertion order). */
  readonly #entries = new Map<string, Entry[]>();
  readonly #Policy: typeof CachePolicy;
  #bytes = 0;
  readonly #counts = { hits: 0, stale: 0, revalidations: 0, misses: 0, passes: 0, bytesFromOrigin: 0 };

  constructor(clock: Clock, options: HttpCacheOptions) {
    this.#clock = clock;
    this.#options = options;
    // The library's documented way to change its time: override now() (its types leave it out).
    this.#Policy = class extends CachePolicy {
      now(): number {
        return clock.now();
      }
    };
  }

  /**
   * Answers `request` from the cache under `key`, or through `origin`. A stale-while-revalidate
   * answer revalidates in the background, through `background`.
   */
  async fetch(request: Request, key: string, origin: (request: Request) => Promise<Response>, background: (work: Promise<unknown>) => void): Promise<{ response: Response; outcome: CacheOutcome }> {
    const asked = this.#policyRequest(request, key);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const response = await origin(request);
      // A successful unsafe method invalidates what is stored for its URL (RFC 9111, 4.4).
      if (response.status < 400) this.#invalidate(request.url);
      this.#counts.passes++;
      return { response, outcome: 'pass' };
    }
    const variants = this.#entries.get(key) ?? [];
    for (const entry of variants) {
      const { response, revalidation } = entry.policy.evaluateRequest(asked);
      if (response) {
        this.#touch(key);
        if (revalidation) {
          background(this.#revalidate(request, key, entry, origin).catch(() => undefined));
          this.#counts.stale++;
          return { response: this.#answer(entry, response.headers), outcome: 'stale' };
        }
        this.#counts.hits++;
        return { response: this.#answer(entry, response.headers), outcome: 'hit' };
      }
      if (revalidation && this.#sameVariant(entry, asked)) {
        return this.#revalidate(request, key, entry, origin);
      }
    }
    return this.#miss(request, key, origin);
  }

  /** Whether the stored response was chosen for the same values of its Vary headers. */
  #sameVariant(entry: Entry, asked: PolicyRequest): boolean {
    return Object.entries(entry.vary).every(([name, value]) => asked.headers[name] === value);
  }

  /** The values `request` has for the headers `response` varies on. */
  #varyOf(asked: PolicyRequest, response: Response): Record<string, string | undefined> {
    const names = (response.headers.get('vary') ?? '').split(',').map((n) => n.trim().toLowerCase()).filter(Boolean);
    return Object.fromEntries(names.map((name) => [name, asked.headers[name] as string | undefined]));
  }

  async #revalidate(request: Request, key: string, entry: Entry, origin: (request: Request) => Promise<Response>): Promise<{ response: Response; outcome: CacheOutcome }> {
    const asked = this.#policyRequest(request, key);
    const conditional = new Request(request.url, { method: request.method, headers: entry.policy.revalidationHeaders(asked) as Record<string, string> });
    let fresh: Response | undefined;
    try {
      fresh = await origin(conditional);
    } catch {
      fresh = undefined;
    }
    const body = fresh ? new Uint8Array(await fresh.arrayBuffer()) : new Uint8Array();
    this.#counts.bytesFromOrigin += body.byteLength;
    const answered = fresh ? { status: fresh.status, headers: headersObject(fresh.headers) } : undefined;
    let revalidated: ReturnType<CachePolicy['revalidatedPolicy']>;
    try {
      // Without an answer, the library applies stale-if-error (or says the copy is unusable).
      revalidated = entry.policy.revalidatedPolicy(asked, answered as CachePolicy.Response);
    } catch {
      throw new TypeError(`cache: the origin did not answer the revalidation of ${key}`);
    }
    const { policy, modified } = revalidated;
    if (!modified) {
      if (!fresh || fresh.status >= 500) {
        this.#counts.stale++;
        return { response: this.#answer(entry, policy.responseHeaders()), outcome: 'stale' };
      }
      this.#replace(key, entry, { ...entry, policy });
      this.#counts.revalidations++;
      return { response: this.#answer(entry, policy.responseHeaders()), outcome: 'revalidated' };
    }
    if (!fresh) throw new TypeError(`cache: the origin did not answer for ${key}`);
    this.#counts.misses++;
    return { response: this.#store(key, request, fresh, body, entry), outcome: 'miss' };
  }

  async #miss(request: Request, key: string, origin: (request: Request) => Promise<Response>): Promise<{ response: Response; outcome: CacheOutcome }> {
    const fresh = await origin(request);
    const body = new Uint8Array(await fresh.arrayBuffer());
    this.#counts.bytesFromOrigin += body.byteLength;
    this.#counts.misses++;
    return { response: this.#store(key, request, fresh, body, undefined), outcome: 'miss' };
  }

  /** Keeps `fresh` when its headers allow it (replacing `old`), and returns it as an answer. */
  #store(key: string, request: Request, fresh: Response, body: Uint8Array, old: Entry | undefined): Response {
    const asked = this.#policyRequest(request, key);
    const policy = new this.#Policy(asked, { status: fresh.status, headers: headersObject(fresh.headers) }, { shared: this.#options.shared });
    const answer = new Response(request.method === 'HEAD' ? null : body.slice(), { status: fresh.status, statusText: fresh.statusText, headers: fresh.headers });
    if (old) this.#remove(key, old);
    // Worth keeping when fresh for a while, or when it carries a validator to revalidate with.
    if (policy.storable() && (policy.timeToLive() > 0 || fresh.headers.has('etag') || fresh.headers.has('last-modified'))) {
      const entry: Entry = { policy, status: fresh.status, vary: this.#varyOf(asked, fresh), body, url: request.url };
      this.#entries.set(key, [...(this.#entries.get(key) ?? []), entry]);
      this.#bytes += body.byteLength;
      this.#touch(key);
      this.#evict();
    }
    return answer;
  }

  #answer(entry: Entry, headers: Record<string, string | string[] | undefined>): Response {
    const out = new Headers();
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
    }
    return new Response(entry.body.slice(), { status: entry.status, headers: out });
  }

  #policyRequest(request: Request, key: string): PolicyRequest {
    const headers = headersObject(request.headers);
    headers.host = new URL(request.url).host;
    // The cache key stands for the URL, so requests the lab maps to one key share an entry.
    return { url: key, method: request.method, headers };
  }

  #touch(key: string): void {
    const variants = this.#entries.get(key);
    if (!variants) return;
    this.#entries.delete(key);
    this.#entries.set(key, variants);
  }

  #replace(key: string, old: Entry, next: Entry): void {
    const variants = this.#entries.get(key) ?? [];
    this.#entries.set(key, variants.map((e) => (e === old ? next : e)));
  }

  #remove(key: string, entry: Entry): void {
    const variants = (this.#entries.get(key) ?? []).filter((e) => e !== entry);
    if (variants.length < (this.#entries.get(key)?.length ?? 0)) this.#bytes -= entry.body.byteLength;
    if (variants.length > 0) this.#entries.set(key, variants);
    else this.#entries.delete(key);
  }

  #evict(): void {
    const max = this.#options.maxBytes;
    if (max === undefined) return;
    for (const [key, variants] of this.#entries) {
      if (this.#bytes <= max) break;
      for (const entry of variants) this.#remove(key, entry);
    }
  }

  #invalidate(url: string): void {
    for (const [key, variants] of [...this.#entries]) for (const entry of variants) if (entry.url === url) this.#remove(key, entry);
  }

  /** Forgets the responses stored under `key`, or every response when no key is given; returns how many. */
  purge(key?: string): number {
    let count = 0;
    for (const [k, variants] of [...this.#entries]) {
      if (key !== undefined && k !== key) continue;
      for (const entry of variants) {
        this.#remove(k, entry);
        count++;
      }
    }
    return count;
  }

  stats(): CacheStats {
    let entries = 0;
    for (const variants of this.#entries.values()) entries += variants.length;
    return { ...this.#counts, entries, bytes: this.#bytes };
  }
}

export interface EdgeOptions {
  /** The host the edge asks on a miss, e.g. `origin` or `app`. */
  origin: string;
  /** The cache key of a request (default: its path and query). Lab code may supply its own. */
  key?: (request: Request) => string;
  /** Most body bytes kept (default: no limit). */
  maxBytes?: number;
}

/** Path and query: an edge serves one origin, so the host is not part of the key. */
export function defaultCacheKey(request: Request): string {
  const url = new URL(request.url);
  return `${url.pathname}${url.search}`;
}

/** A copy of `response` with one more header (a Response from elsewhere may have immutable headers). */
function withHeader(response: Response, name: string, value: string): Response {
  const copy = new Response(response.body, response);
  copy.headers.set(name, value);
  return copy;
}

/**
 * The handler of an edge node: answers from `cache` or from the origin, says which in an
 * `x-cache` header (HIT, STALE, REVALIDATED, MISS, PASS, as CDNs do), and counts.
 */
export function edgeFactory(cache: HttpCache, options: EdgeOptions, counted: (node: string, key: string, outcome: CacheOutcome) => void): NodeFactory {
  const keyOf = options.key ?? defaultCacheKey;
  return (ctx) => async (request) => {
    const key = keyOf(request);
    try {
      const { response, outcome } = await cache.fetch(request, key, (r) => ctx.forward(r, options.origin), (work) => void work);
      counted(ctx.name, key, outcome);
      return withHeader(response, 'x-cache', outcome.toUpperCase());
    } catch (err) {
      return new Response(`${ctx.name}: the origin ${options.origin} did not answer: ${messageOf(err)}`, { status: 502 });
    }
  };
}
