// The origin: the shop's one server, in eu-central. Every edge asks it on a miss. Decide here what
// each answer lets caches do with it (Cache-Control), route by route.
import { getCookie, type Handler, type NodeContext } from '@scale-lab/kit';
import type { SiteStore } from './site.ts';

const TYPES: Record<string, string> = { css: 'text/css', js: 'text/javascript', svg: 'image/svg+xml' };
const HTML = 'text/html; charset=utf-8';

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
      return answer(content, TYPES[path.split('.').pop()!] ?? 'application/octet-stream');
    }

    // The signed-in reader's own page: their name and orders. (Any path under /account shows it.)
    if (path === '/account' || path.startsWith('/account/')) {
      const user = getCookie(req, 'session');
      const body = user ? `Signed in as ${user}. Your orders: ${user.length} parcels on the way.` : 'Please sign in.';
      return answer(site.render('Your account', body), HTML);
    }

    // Search results depend on q and page, and on nothing else.
    if (path === '/search') {
      const q = url.searchParams.get('q') ?? '';
      const page = Number(url.searchParams.get('page') ?? '1');
      return answer(site.render(`Search: ${q}`, `Results for ${q}, page ${page}`), HTML);
    }

    // The public pages: the same for every reader.
    const text = site.pages.get(path);
    if (text !== undefined) return answer(site.render(text, text), HTML);

    return answer('not found', 'text/plain', {}, 404);
  };
}
