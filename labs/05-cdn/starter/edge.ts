// The edges' cache key: which requests an edge treats as the same, so that one stored answer serves
// them all. Every edge (edge-us, edge-eu, edge-ap) calls cacheKey for each request it receives.

export function cacheKey(request: Request): string {
  const url = new URL(request.url);
  return `${url.pathname}${url.search}`;
}
