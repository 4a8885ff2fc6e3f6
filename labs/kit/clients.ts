/**
 * Named clients: browsers outside the cluster. Each has a name the network knows (so links and
 * partitions can single it out) and a cookie jar, so a test or the load generator can tell readers
 * apart: alice's session cookie goes with alice's requests only.
 */
import type { Clock } from './clock.ts';
import { HttpCache, type CacheOutcome } from './components/http-cache.ts';
import { CookieJar } from './cookies.ts';

export interface ClientOptions {
  /** A private browser cache, obeying the responses' caching headers (`{ maxBytes }` to bound it). */
  cache?: boolean | { maxBytes?: number };
}

export class Client {
  readonly name: string;
  /** The cookies this client keeps, like a browser profile. */
  readonly cookies: CookieJar;
  /** The private cache, when the client has one. */
  readonly cache: HttpCache | undefined;
  readonly #send: (from: string, request: Request) => Promise<Response>;
  readonly #counted: (client: string, key: string, outcome: CacheOutcome) => void;

  /** `send` carries a request from `from` into the cluster (and drives time when called from a test). */
  constructor(
    name: string,
    clock: Clock,
    send: (from: string, request: Request) => Promise<Response>,
    options: ClientOptions = {},
    counted: (client: string, key: string, outcome: CacheOutcome) => void = () => {},
  ) {
    this.name = name;
    this.cookies = new CookieJar(clock);
    this.#send = send;
    this.#counted = counted;
    const cache = options.cache;
    this.cache = cache ? new HttpCache(clock, { shared: false, maxBytes: cache === true ? undefined : cache.maxBytes }) : undefined;
  }

  /** Sends a request as this client: its cookies go along (unless the request sets a Cookie header), and the answer's are kept. */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const given = new Request(input, init);
    // A fresh Request with the cookie built in: browsers ignore a Cookie header set on a Request afterwards.
    const headers = new Headers(given.headers);
    const cookie = this.cookies.header(given.url);
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    const request = cookie ? new Request(given, { headers }) : given;
    if (!this.cache) {
      const response = await this.#send(this.name, request);
      this.cookies.store(request.url, response);
      return response;
    }
    const { response, outcome } = await this.cache.fetch(request, request.url, (r) => this.#send(this.name, r), (work) => void work);
    this.#counted(this.name, request.url, outcome);
    // Cookies come with answers from the server, not with copies from the cache.
    if (outcome === 'miss' || outcome === 'pass') this.cookies.store(request.url, response);
    return response;
  }
}
