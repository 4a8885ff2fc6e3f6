import type { Handler, NodeContext } from '@scale-lab/kit';
import type { Datacenter } from './dns.ts';
import { createReplicator, type Shipment } from './replication.ts';

export interface AppConfig {
  /** This app server's region, e.g. "eu-west". */
  region: string;
  /** The region's key-value store, e.g. "kv-eu-west": use ctx.store(config.store). */
  store: string;
  /** Every datacenter and the address of its balancer. */
  datacenters: Datacenter[];
  /** A user's home region (step 3). */
  homeOf(user: string): string;
}

/** What this app server ships to the other datacenters, and applies when they ship it. */
type Replicated =
  | { type: 'profile'; user: string; name: string }
  | { type: 'title'; board: string; title: string }
  | { type: 'likes'; board: string; likes: number };

/**
 * An app server of one datacenter (there are two per region, behind lb-<region>):
 * - GET /health                        is this datacenter able to serve?
 * - GET /profile/<user>, PUT /profile/<user> { name }
 * - GET /boards/<id>                    { title, likes }
 * - PUT /boards/<id> { title }, POST /boards/<id>/likes
 * - POST /internal/replicate            records shipped by the other datacenters
 * Today every write is made here and shipped to the other datacenters, which copy it over theirs.
 */
export function createApp(ctx: NodeContext, config: AppConfig): Handler {
  const kv = ctx.store(config.store);
  const peers = config.datacenters.filter((d) => d.region !== config.region).map((d) => d.address);
  const replication = createReplicator(ctx, config.region, peers);

  async function apply(record: Replicated): Promise<void> {
    if (record.type === 'profile') await kv.set(`profile:${record.user}`, record.name);
    if (record.type === 'title') await kv.set(`title:${record.board}`, record.title);
    if (record.type === 'likes') await kv.set(`likes:${record.board}`, String(record.likes));
  }

  return async (req) => {
    const url = new URL(req.url);
    const [, what, id, action] = url.pathname.split('/');
    if (url.pathname === '/health') return new Response('ok');

    if (what === 'profile' && id) {
      if (req.method === 'PUT') {
        const { name } = (await req.json()) as { name: string };
        const record: Replicated = { type: 'profile', user: id, name };
        await apply(record);
        replication.send(record);
        return Response.json({ user: id, name });
      }
      const name = await kv.get(`profile:${id}`);
      return name === null ? Response.json({ user: id, error: 'no such user' }, { status: 404 }) : Response.json({ user: id, name });
    }

    if (what === 'boards' && id) {
      if (req.method === 'PUT') {
        const { title } = (await req.json()) as { title: string };
        const record: Replicated = { type: 'title', board: id, title };
        await apply(record);
        replication.send(record);
        return Response.json({ board: id, title });
      }
      if (req.method === 'POST' && action === 'likes') {
        const likes = await kv.incr(`likes:${id}`);
        replication.send({ type: 'likes', board: id, likes });
        return Response.json({ board: id, likes });
      }
      const [title, likes] = await Promise.all([kv.get(`title:${id}`), kv.get(`likes:${id}`)]);
      return Response.json({ board: id, title, likes: Number(likes ?? 0) });
    }

    if (url.pathname === '/internal/replicate' && req.method === 'POST') {
      const { records } = (await req.json()) as Shipment;
      for (const record of records) await apply(record as Replicated);
      return new Response('applied');
    }
    return new Response('not found', { status: 404 });
  };
}
