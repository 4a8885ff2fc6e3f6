// The edges' cache key: which requests an edge treats as the same, so that one stored answer serves
// them all. Every edge (edge-us, edge-eu, edge-ap) calls cacheKey for each request it receives.

/** The query parameters the origin reads (search: q and page). Every other one, tracking included, changes nothing. */
const KEPT_PARAMETERS = ['q', 'page'];

export function cacheKey(request: Request): string {
  const url = new URL(request.url);
  // An allowlist, sorted by name: ?page=2&q=tent and ?q=tent&page=2&fbclid=… are one request.
  const kept = [...url.searchParams].filter(([name]) => KEPT_PARAMETERS.includes(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = new URLSearchParams(kept).toString();
  return query ? `${url.pathname}?${query}` : url.pathname;
}
