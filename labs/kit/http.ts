/** Small helpers for fetch-style handlers. */

/** A copy of `request` addressed to another host (same path, method, headers and body); the original stays usable, so a caller can retry. */
export async function retarget(request: Request, host: string): Promise<Request> {
  const url = new URL(request.url);
  url.host = host;
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const body = hasBody ? await request.clone().arrayBuffer() : undefined;
  return new Request(url, { method: request.method, headers: request.headers, body });
}

/** The value of one cookie sent with the request, or undefined. */
export function getCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** The host name a request is addressed to: `app-1` for `http://app-1/health`. */
export function hostOf(request: Request | string | URL): string {
  return new URL(typeof request === 'string' || request instanceof URL ? request : request.url).hostname;
}
