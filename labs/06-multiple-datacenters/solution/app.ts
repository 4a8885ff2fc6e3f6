import { getCookie, type Handler, type NodeContext } from '@scale-lab/kit';
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

/** A stamp that orders writes to a board's title: a hybrid logical clock, ties broken by region. */
interface Stamp {
  time: number;
  region: string;
}

/** What this app server ships to the other datacenters, and applies when they ship it. */
type Replicated =
  | { type: 'profile'; user: string; name: string; version: number }
  | ({ type: 'title'; board: string; title: string } & Stamp)
  | { type: 'likes'; board: string; region: string; count: number };

const later = (a: Stamp, b: Stamp) => a.time > b.time || (a.time === b.time && a.region > b.region);

/**
 * An app server of one datacenter (there are two per region, behind lb-<region>):
 * - GET /health                        is this datacenter able to serve?
 * - GET /profile/<user>, PUT /profile/<user> { name }
 * - GET /boards/<id>                    { title, likes }
 * - PUT /boards/<id> { title }, POST /boards/<id>/likes
 * - POST /internal/replicate            records shipped by the other datacenters
 * A profile is written in its user's home region only; a board is written anywhere and merged.
 */
export function createApp(ctx: NodeContext, config: AppConfig): Handler {
  const { region } = config;
  const kv = ctx.store(config.store);
  const probe = ctx.store(config.store, { timeout: 300 });
  const addressOf = (r: string) => config.datacenters.find((d) => d.region === r)!.address;
  const peers = config.datacenters.filter((d) => d.region !== region).map((d) => d.address);
  const replication = createReplicator(ctx, region, peers);

  const profileOf = async (user: string) => JSON.parse((await kv.get(`profile:${user}`)) ?? 'null') as { name: string; version: number } | null;
  const titleOf = async (board: string) => JSON.parse((await kv.get(`title:${board}`)) ?? 'null') as ({ title: string } & Stamp) | null;

  async function apply(record: Replicated): Promise<void> {
    if (record.type === 'profile') {
      const current = await profileOf(record.user);
      if (!current || record.version > current.version) await kv.set(`profile:${record.user}`, JSON.stringify({ name: record.name, version: record.version }));
    } else if (record.type === 'title') {
      const current = await titleOf(record.board);
      if (!current || later(record, current)) await kv.set(`title:${record.board}`, JSON.stringify({ title: record.title, time: record.time, region: record.region }));
    } else {
      // One count per region, each only ever growing: keep the larger, so a repeat or a late shipment changes nothing.
      const current = Number((await kv.hget(`likes:${record.board}`, record.region)) ?? 0);
      if (record.count > current) await kv.hset(`likes:${record.board}`, { [record.region]: String(record.count) });
    }
  }

  /** Sends the request on to the user's home datacenter, as it came (the reader's cookies go along). */
  async function toHome(req: Request, home: string, path: string): Promise<Response> {
    const body = req.method === 'GET' ? undefined : await req.text();
    return ctx.fetch(`http://${addressOf(home)}${path}`, { method: req.method, headers: req.headers, body });
  }

  return async (req) => {
    const url = new URL(req.url);
    const [, what, id, action] = url.pathname.split('/');
    if (url.pathname === '/health') {
      // Up means able to serve: the store answers too.
      const ok = await probe.get('health').then(() => true, () => false);
      return new Response(ok ? 'ok' : `${config.store} does not answer`, { status: ok ? 200 : 503 });
    }

    if (what === 'profile' && id) {
      const home = config.homeOf(id);
      if (req.method === 'PUT') {
        if (home !== region) return toHome(req, home, url.pathname);
        const { name } = (await req.json()) as { name: string };
        const version = await kv.incr(`profile-version:${id}`);
        const record: Replicated = { type: 'profile', user: id, name, version };
        await apply(record);
        replication.send(record);
        // The reader keeps the version they wrote, so any region can tell whether its copy has it yet.
        return Response.json({ user: id, name, version }, { headers: { 'set-cookie': `seen-${id}=${version}; Path=/` } });
      }
      const profile = await profileOf(id);
      const seen = Number(getCookie(req, `seen-${id}`) ?? 0);
      if (home !== region && (profile?.version ?? 0) < seen) return toHome(req, home, url.pathname);
      return profile === null ? Response.json({ user: id, error: 'no such user' }, { status: 404 }) : Response.json({ user: id, name: profile.name });
    }

    if (what === 'boards' && id) {
      if (req.method === 'PUT') {
        const { title } = (await req.json()) as { title: string };
        const current = await titleOf(id);
        // Later than anything this region has seen, whatever its own clock says.
        const time = Math.max(ctx.now(), (current?.time ?? 0) + 1);
        const record: Replicated = { type: 'title', board: id, title, time, region };
        await apply(record);
        replication.send(record);
        return Response.json({ board: id, title });
      }
      if (req.method === 'POST' && action === 'likes') {
        const count = await kv.hincrby(`likes:${id}`, region, 1);
        replication.send({ type: 'likes', board: id, region, count });
        const counts = await kv.hgetall(`likes:${id}`);
        return Response.json({ board: id, likes: Object.values(counts).reduce((sum, n) => sum + Number(n), 0) });
      }
      const [title, counts] = await Promise.all([titleOf(id), kv.hgetall(`likes:${id}`)]);
      return Response.json({ board: id, title: title?.title ?? null, likes: Object.values(counts).reduce((sum, n) => sum + Number(n), 0) });
    }

    if (url.pathname === '/internal/replicate' && req.method === 'POST') {
      const { records } = (await req.json()) as Shipment;
      for (const record of records) await apply(record as Replicated);
      return new Response('applied');
    }
    return new Response('not found', { status: 404 });
  };
}
