/**
 * A file the lab runtime fetches, once per URL and kept: a failed fetch is forgotten, so the next
 * use tries again. Revalidated with the server (`no-cache`), so a rebuilt site is picked up.
 */
export function fetchOnce<T>(cache: Map<string, Promise<T>>, url: string, read: (res: Response) => Promise<T>, what = 'the file'): Promise<T> {
  let body = cache.get(url);
  if (!body) {
    body = fetch(url, { cache: 'no-cache' }).then((res) => {
      if (!res.ok) throw new Error(`${what} could not be loaded (HTTP ${res.status} for ${url})`);
      return read(res);
    });
    body.catch(() => cache.delete(url));
    cache.set(url, body);
  }
  return body;
}
