/**
 * Named clients: browsers outside the cluster. Each has a name the network knows (so links and
 * partitions can single it out) and a cookie jar, so a test or the load generator can tell readers
 * apart: alice's session cookie goes with alice's requests only.
 */
import type { Clock } from './clock.ts';
import { CookieJar } from './cookies.ts';

export class Client {
  readonly name: string;
  /** The cookies this client keeps, like a browser profile. */
  readonly cookies: CookieJar;
  readonly #send: (from: string, request: Request) => Promise<Response>;

  /** `send` carries a request from `from` into the cluster (and drives time when called from a test). */
  constructor(name: string, clock: Clock, send: (from: string, request: Request) => Promise<Response>) {
    this.name = name;
    this.cookies = new CookieJar(clock);
    this.#send = send;
  }

  /** Sends a request as this client: its cookies go along (unless the request sets a Cookie header), and the answer's are kept. */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const given = new Request(input, init);
    // A fresh Request with the cookie built in: browsers ignore a Cookie header set on a Request afterwards.
    const headers = new Headers(given.headers);
    const cookie = this.cookies.header(given.url);
    if (cookie && !headers.has('cookie')) headers.set('cookie', cookie);
    const request = cookie ? new Request(given, { headers }) : given;
    const response = await this.#send(this.name, request);
    this.cookies.store(request.url, response);
    return response;
  }
}
