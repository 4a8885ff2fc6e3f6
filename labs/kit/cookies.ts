/**
 * A browser's cookie jar, for the cluster's clients: keeps what `Set-Cookie` says per host, sends it
 * back on later requests to that host and path, and forgets cookies when they expire on the cluster's
 * clock. Hosts in a cluster are bare names (`lb`, `www`), so cookies are host-only: `Domain` is not
 * honoured, and `Secure` is ignored (the cluster speaks plain http).
 */
import type { Clock } from './clock.ts';

interface Cookie {
  name: string;
  value: string;
  host: string;
  path: string;
  /** Cluster time after which the cookie is gone; undefined for a session cookie. */
  expires: number | undefined;
}

/** The default path of a cookie set by a response to `pathname` (RFC 6265, 5.1.4). */
function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export class CookieJar {
  readonly #clock: Clock;
  #cookies: Cookie[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Keeps the cookies a response from `url` sets (and drops the ones it expires). */
  store(url: string | URL, response: Response): void {
    const { hostname, pathname } = new URL(url);
    for (const line of response.headers.getSetCookie()) this.#set(hostname, pathname, line);
  }

  #set(host: string, requestPath: string, line: string): void {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: Cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), host, path: defaultPath(requestPath), expires: undefined };
    let maxAge: number | undefined;
    for (const attribute of attributes) {
      const at = attribute.indexOf('=');
      const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
      const value = at < 0 ? '' : attribute.slice(at + 1).trim();
      if (key === 'path' && value.startsWith('/')) cookie.path = value;
      else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (key === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expires = Date.parse(value);
    }
    // Max-Age wins over Expires; both are read on the cluster's clock (ms since its start).
    if (maxAge !== undefined) cookie.expires = this.#clock.now() + maxAge * 1000;
    this.#cookies = this.#cookies.filter((c) => !(c.name === cookie.name && c.host === host && c.path === cookie.path));
    if (cookie.expires === undefined || cookie.expires > this.#clock.now()) this.#cookies.push(cookie);
  }

  /** The `Cookie` header a request to `url` carries, or undefined if no cookie applies. */
  header(url: string | URL): string | undefined {
    const { hostname, pathname } = new URL(url);
    const now = this.#clock.now();
    this.#cookies = this.#cookies.filter((c) => c.expires === undefined || c.expires > now);
    const sent = this.#cookies
      .filter((c) => c.host === hostname && pathMatches(pathname, c.path))
      // Longer paths first, then older first (RFC 6265, 5.4); the array keeps creation order.
      .sort((a, b) => b.path.length - a.path.length);
    return sent.length > 0 ? sent.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** The value of cookie `name` the jar would send to `url`. */
  get(url: string | URL, name: string): string | undefined {
    const header = this.header(url);
    for (const part of header?.split('; ') ?? []) {
      const eq = part.indexOf('=');
      if (part.slice(0, eq) === name) return part.slice(eq + 1);
    }
    return undefined;
  }

  /** Forgets every cookie (a new browser profile). */
  clear(): void {
    this.#cookies = [];
  }
}
