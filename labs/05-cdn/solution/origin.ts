// The origin: the shop's one server, in eu-central. Every edge asks it on a miss. Decide here what
// each answer lets caches do with it (Cache-Control), route by route.
import { getCookie, type Handler, type NodeContext } from '@scale-lab/kit';
import type { SiteStore } from './site.ts';

const TYPES: Record<string, string> = { css: 'text/css', js: 'text/javascript', svg: 'image/svg+xml' };
const HTML = 'text/html; charset=utf-8';

/** Fingerprinted files never change under their name: any cache may keep them a year, and browsers need not ask again. */
const ASSETS = 'public, max-age=31536000, immutable';
/**
 * Public pages, the same for every reader: edges keep them a minute, then for 30 s more answer with
 * the stale copy while they refresh it in the background, and for a day when the origin fails.
 * Browsers ask their edge each time (the stale window applies to them too, so it stays short).
 */
const PAGES = 'public, max-age=0, s-maxage=60, stale-while-revalidate=30, stale-if-error=86400';
/** A reader's own page: only their browser may keep it, and it asks the origin again before each use. */
const PERSONAL = 'private, no-cache';

function answer(body: string, type: string, headers: Record<string, string> = {}, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': type, ...headers } });
}

export function createOrigin(ctx: NodeContext, site: SiteStore): Handler {
  return async (req) => {
    const url = new URL(req.url);
    const path = url.pathname;

    // Files of a release, fingerprinted by the build: /assets/app.1f3a9c2e.css.
    if (path.startsWith('/assets/')) {
      const content = site.files.get(path);
      if (content === undefined) return answer('not found', 'text/plain', {}, 404);
      return answer(content, TYPES[path.split('.').pop()!] ?? 'application/octet-stream', { 'cache-control': ASSETS });
    }

    // The signed-in reader's own page: their name and orders. (Any path under /account shows it.)
    if (path === '/account' || path.startsWith('/account/')) {
      const user = getCookie(req, 'session');
      const body = user ? `Signed in as ${user}. Your orders: ${user.length} parcels on the way.` : 'Please sign in.';
      return answer(site.render('Your account', body), HTML, { 'cache-control': PERSONAL });
    }

    // Search results depend on q and page, and on nothing else.
    if (path === '/search') {
      const q = url.searchParams.get('q') ?? '';
      const page = Number(url.searchParams.get('page') ?? '1');
      return answer(site.render(`Search: ${q}`, `Results for ${q}, page ${page}`), HTML, { 'cache-control': PAGES });
    }

    // The public pages: the same for every reader.
    const text = site.pages.get(path);
    if (text !== undefined) return answer(site.render(text, text), HTML, { 'cache-control': PAGES });

    return answer('not found', 'text/plain', {}, 404);
  };
}
