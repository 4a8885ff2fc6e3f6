import { getCookie, type Handler, type NodeContext } from '@scale-lab/kit';

interface Session {
  user: string;
}

/** One app server. All three run this same code; `ctx.name` tells them apart (app-1, app-2, app-3). */
export function createApp(ctx: NodeContext): Handler {
  // Sessions kept in this server's memory: only this server knows them, and a restart forgets them.
  const sessions = new Map<string, Session>();

  return async (req) => {
    const url = new URL(req.url);

    if (url.pathname === '/health') return new Response('ok');

    if (req.method === 'POST' && url.pathname === '/login') {
      const { user } = (await req.json()) as { user?: string };
      if (!user) return Response.json({ error: 'user is required' }, { status: 400 });
      const sid = Math.floor(ctx.random() * 2 ** 48).toString(36);
      sessions.set(sid, { user });
      return Response.json({ user, server: ctx.name }, { headers: { 'set-cookie': `sid=${sid}; HttpOnly; Path=/` } });
    }

    if (req.method === 'POST' && url.pathname === '/orders') {
      // Placing an order is not idempotent: every POST that runs places one more.
      const { item } = (await req.json().catch(() => ({}))) as { item?: string };
      if (!item) return Response.json({ error: 'item is required' }, { status: 400 });
      await ctx.sleep(10);
      return Response.json({ placed: item, server: ctx.name }, { status: 201 });
    }

    if (url.pathname === '/me') {
      const sid = getCookie(req, 'sid');
      const session = sid ? sessions.get(sid) : undefined;
      if (!session) return Response.json({ error: 'not logged in', server: ctx.name }, { status: 401 });
      return Response.json({ user: session.user, server: ctx.name });
    }

    // Some work for every page: 10 ms of this server's time.
    await ctx.sleep(10);
    return new Response(`hello from ${ctx.name}`);
  };
}
