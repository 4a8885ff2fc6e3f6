/**
 * Named clients: browsers outside the cluster. Each has a name the network knows (so links and
 * partitions can single it out) and a cookie jar, so a test or the load generator can tell readers
 * apart: alice's session cookie goes with alice's requests only.
 */
import type { Clock } from './clock.ts';
import { HttpCache, type CacheOutcome } from './components/http-cache.ts';
import { CookieJar } from './cookies.ts';
import type { Resolution } from './regions.ts';

export interface ClientOptions {
  /** The region the client is in (its links to nodes in other regions carry the regions' latency). */
  region?: string;
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
  readonly #resolve: (host: string, client: Client) => Resolution | undefined;
  readonly #clock: Clock;
  /** Answers of the resolver, kept for their TTL, by host name. */
  readonly #resolved = new Map<string, { address: string; expires: number }>();
  readonly region: string | undefined;

  /** `send` carries a request from `from` into the cluster (and drives time when called from a test). */
  constructor(
    name: string,
    clock: Clock,
    send: (from: string, request: Request) => Promise<Response>,
    options: ClientOptions = {},
    counted: (client: string, key: string, outcome: CacheOutcome) => void = () => {},
    resolve: (host: string, client: Client) => Resolution | undefined = () => undefined,
  ) {
    this.name = name;
    this.region = options.region;
    this.#clock = clock;
    this.#resolve = resolve;
    this.cookies = new CookieJar(clock);
    this.#send = send;
    this.#counted = counted;
    const cache = options.cache;
    this.cache = cache ? new HttpCache(clock, { shared: false, maxBytes: cache === true ? undefined : cache.maxBytes }) : undefined;
  }

  /**
   * Sends a request as this client: its cookies go along (unless the request sets a Cookie header),
   * the answer's are kept; a host the resolver knows goes to the node it names, for the answer's TTL.
   * Cookies and the private cache are keyed by the URL asked for, as a browser keys them by host name.
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const given = new Request(input, init);
    // A fresh Request with the cookie built in: browsers ignore a Cookie header set on a Request afterwards.
    const headers = new Headers(given.headers);
    const cookie = this.cookies.header(given.url);
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    const request = cookie ? new Request(given, { headers }) : given;
    // The body as given (a string, bytes), kept to rebuild the request for another host: request.body is a stream,
    // and in a browser reading a stream takes several tasks, during which virtual time would move on.
    const givenBody = input instanceof Request || init?.body instanceof ReadableStream ? undefined : (init?.body ?? undefined);
    const send = (r: Request) => this.#send(this.name, this.#addressed(r, r.method === given.method ? givenBody : undefined));
    if (!this.cache) {
      const response = await send(request);
      this.cookies.store(given.url, response);
      return response;
    }
    const { response, outcome } = await this.cache.fetch(request, given.url, send, (work) => void work);
    this.#counted(this.name, given.url, outcome);
    // Cookies come with answers from the server, not with copies from the cache.
    if (outcome === 'miss' || outcome === 'pass') this.cookies.store(given.url, response);
    return response;
  }

  /** `request` addressed to the node the resolver names for its host (kept for the answer's TTL), or as it is; `body`: its body as given. */
  #addressed(request: Request, body: BodyInit | undefined): Request {
    const url = new URL(request.url);
    const now = this.#clock.now();
    let known = this.#resolved.get(url.hostname);
    if (!known || known.expires <= now) {
      const answer = this.#resolve(url.hostname, this);
      if (!answer) return request;
      known = { address: answer.address, expires: now + answer.ttl };
      this.#resolved.set(url.hostname, known);
    }
    url.hostname = known.address;
    if (body === undefined || request.body === null) return new Request(url, request);
    return new Request(url, { method: request.method, headers: request.headers, body, signal: request.signal, redirect: request.redirect });
  }
}
