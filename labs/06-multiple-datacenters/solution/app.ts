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

/** What this app server ships to the other datacenters, and applies when they ship it. */
type Replicated =
  | { type: 'profile'; user: string; name: string; version: number }
  | { type: 'title'; board: string; title: string; time: number; region: string }
  | { type: 'likes'; board: string; region: string; count: number };

/**
 * An app server of one datacenter (there are two per region, behind lb-<region>):
 * - GET /health                        is this datacenter able to serve?
 * - GET /profile/<user>, PUT /profile/<user> { name }
 * - GET /boards/<id>                    { title, likes }
 * - PUT /boards/<id> { title }, POST /boards/<id>/likes
 * - POST /internal/replicate            records shipped by the other datacenters
 * A profile is written in its user's home region only; a board is written anywhere and merged.
 * Every merge is one atomic ZADD ... GT: two app servers applying records at once cannot undo each other.
 */
export function createApp(ctx: NodeContext, config: AppConfig): Handler {
  const { region } = config;
  const kv = ctx.store(config.store);
  const probe = ctx.store(config.store, { timeout: 300 });
  const addressOf = (r: string) => config.datacenters.find((d) => d.region === r)!.address;
  const peers = config.datacenters.filter((d) => d.region !== region).map((d) => d.address);
  const replication = createReplicator(ctx, region, peers);

  /**
   * Keeps `member` with `score` in a sorted set unless it is already there with a higher one; the
   * member with the highest score (then the highest bytes) is the value. One ZADD, so it cannot
   * interleave with another; dropping the lower scores after it is safe in any order.
   */
  async function keepLatest(key: string, score: number, member: string): Promise<void> {
    await kv.zadd(key, score, member, { gt: true });
    await kv.zremrangebyscore(key, '-inf', `(${score}`);
  }
  const latest = async (key: string) => (await kv.zrangeWithScores(key, -1, -1))[0];

  async function profileOf(user: string): Promise<{ name: string; version: number } | null> {
    const top = await latest(`profile:${user}`);
    return top ? { name: top.member, version: top.score } : null;
  }
  /** A title's member starts with its region, so equal stamps are ordered by region, the same way everywhere. */
  async function titleOf(board: string): Promise<{ title: string; time: number } | null> {
    const top = await latest(`title:${board}`);
    return top ? { title: (JSON.parse(top.member) as [string, string])[1], time: top.score } : null;
  }
  async function likesOf(board: string): Promise<number> {
    return (await kv.zrangeWithScores(`likes:${board}`, 0, -1)).reduce((sum, { score }) => sum + score, 0);
  }

  async function apply(record: Replicated): Promise<void> {
    if (record.type === 'profile') await keepLatest(`profile:${record.user}`, record.version, record.name);
    else if (record.type === 'title') await keepLatest(`title:${record.board}`, record.time, JSON.stringify([record.region, record.title]));
    // One count per region, each only ever growing: the larger stays, so a repeat or a late shipment changes nothing.
    else await kv.zadd(`likes:${record.board}`, record.count, record.region, { gt: true });
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
        // Later than anything this region has seen, whatever its own clock says (a hybrid logical clock).
        const time = Math.max(ctx.now(), (current?.time ?? 0) + 1);
        const record: Replicated = { type: 'title', board: id, title, time, region };
        await apply(record);
        replication.send(record);
        return Response.json({ board: id, title });
      }
      if (req.method === 'POST' && action === 'likes') {
        // This region's own count: one atomic increment, whichever app server takes the like.
        const count = await kv.hincrby(`likes-made:${id}`, region, 1);
        await kv.zadd(`likes:${id}`, count, region, { gt: true });
        replication.send({ type: 'likes', board: id, region, count });
        return Response.json({ board: id, likes: await likesOf(id) });
      }
      const [title, likes] = await Promise.all([titleOf(id), likesOf(id)]);
      return Response.json({ board: id, title: title?.title ?? null, likes });
    }

    if (url.pathname === '/internal/replicate' && req.method === 'POST') {
      const { records } = (await req.json()) as Shipment;
      for (const record of records) await apply(record as Replicated);
      return new Response('applied');
    }
    return new Response('not found', { status: 404 });
  };
}
