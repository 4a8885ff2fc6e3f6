import { getCookie, type Handler, type NodeContext, type SqlClient, type SqlValue } from '@scale-lab/kit';
import { shardFor } from './shards.ts';


/** The databases this app is given. */
export interface Databases {
  /** The configured primary, which takes writes until a failover. */
  primary: string;
  /** The replicas, which follow the primary. */
  replicas: string[];
  /** The key in kv where the failover monitor records the primary after a failover (unset until then). */
  primaryKey: string;
  /** The shards of the users directory: each holds some of the users, none all. */
  shards: string[];
  /** Databases ready to join the users directory, empty until a resharding moves users onto them. */
  spareShards: string[];
}

/** What a logged-in user's session holds, stored in kv under session:<sid>. */
interface Session {
  user: string;
  /** Log position of this user's last write: a read for this user must see at least this much. */
  position?: number;
}

/** What GET http://db-admin/members says of a member (see db-admin.ts). */
interface MemberStatus {
  node: string;
  up: boolean;
  role?: 'primary' | 'replica';
  received?: number;
  applied?: number;
}

interface User {
  id: number;
  name: string;
  score: number;
}

interface Account {
  user: string;
  name: string;
  balance: number;
}

const SESSION_TTL_S = 24 * 60 * 60;

/** Where the users directory is: its shards, and during a resharding the shards users are moving to. */
interface ShardMap {
  shards: string[];
  next?: string[];
}

/** The key in kv of the shard map every clone reads; unset, the directory is on databases.shards. */
const SHARD_MAP_KEY = 'users:shard-map';
/** How long a request that read the shard map may still act on it: requests finish well within this. */
const MAP_SETTLE_MS = 200;

/**
 * Connections each app server may hold on the primary at once: three servers × 4 = 12 of its 16,
 * the rest left for the failover monitor and db-admin.
 */
const PRIMARY_POOL_SIZE = 4;

/** A connection pool: at most `size` calls hold a connection at once; the others wait their turn, in order. */
function connectionPool(size: number): <T>(work: () => Promise<T>) => Promise<T> {
  let free = size;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The connection goes back however the work ended, a refusal thrown inside a transaction included.
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/** `db`, with each statement and each transaction holding one of the pool's connections while it runs. */
function pooled(db: SqlClient, use: <T>(work: () => Promise<T>) => Promise<T>): SqlClient {
  return {
    query: <T>(sql: string, params?: SqlValue[]) => use(() => db.query<T>(sql, params)),
    run: (sql, params) => use(() => db.run(sql, params)),
    transaction: (work) => use(() => db.transaction(work)),
  };
}

/** A request the service refuses: answered with `status` and `{ error }`. */
class Refused extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** One app server. All three run this same code; `ctx.name` tells them apart (app-1, app-2, app-3). */
export function createApp(ctx: NodeContext, databases: Databases): Handler {
  // Writes, transactions and reads that must not be stale go to the primary; plain reads to the replicas, in turn.
  const replicas = databases.replicas.map((name) => ({ name, db: ctx.database(name) }));
  let turn = 0;
  // This server's share of the primary's connections, kept across requests.
  const usePrimary = connectionPool(PRIMARY_POOL_SIZE);

  function anyReplica(): SqlClient {
    return replicas[turn++ % replicas.length]!.db;
  }

  async function members(): Promise<MemberStatus[]> {
    return (await (await ctx.fetch('http://db-admin/members')).json()) as MemberStatus[];
  }

  /**
   * Where to read for this session: a replica that has applied the user's last write, in turn;
   * the primary when none has yet.
   */
  async function readerFor(session: Session, primary: SqlClient): Promise<SqlClient> {
    if (!session.position) return anyReplica();
    const caughtUp = new Set((await members()).filter((m) => m.up && m.role === 'replica' && m.applied! >= session.position!).map((m) => m.node));
    for (let i = 0; i < replicas.length; i++) {
      const replica = replicas[turn++ % replicas.length]!;
      if (caughtUp.has(replica.name)) return replica.db;
    }
    return primary;
  }

  /** Keeps the position of the user's latest write in the session, which every clone reads. */
  async function wrote(sid: string, session: Session, position: number | undefined): Promise<void> {
    if (position === undefined || position <= (session.position ?? 0)) return;
    await saveSession(sid, { ...session, position });
  }

  async function sessionOf(req: Request): Promise<{ sid: string; session: Session }> {
    const sid = getCookie(req, 'sid');
    const stored = sid ? await ctx.kv.get(`session:${sid}`) : null;
    if (!sid || !stored) throw new Refused(401, 'not logged in');
    return { sid, session: JSON.parse(stored) as Session };
  }

  async function saveSession(sid: string, session: Session): Promise<void> {
    await ctx.kv.set(`session:${sid}`, JSON.stringify(session), { ex: SESSION_TTL_S });
  }

  async function amountOf(req: Request): Promise<number> {
    const { amount } = (await req.json()) as { amount?: unknown };
    if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0) throw new Refused(400, 'amount must be a positive whole number');
    return amount;
  }

  /** The shard map every clone reads: where users are, and while they move, where they are going. */
  async function shardMap(): Promise<ShardMap> {
    const stored = await ctx.kv.get(SHARD_MAP_KEY);
    return stored ? (JSON.parse(stored) as ShardMap) : { shards: databases.shards };
  }

  /**
   * Moves the users whose owner changes under `next`: new users are written under both maps, the
   * moving users are copied, and only then do reads switch to `next`; the old copies go last.
   */
  async function reshard(next: string[]): Promise<{ shards: string[]; moved: number }> {
    const { shards } = await shardMap();
    await ctx.kv.set(SHARD_MAP_KEY, JSON.stringify({ shards, next } satisfies ShardMap));
    // Sign-ups that read the map before it changed finish before the copy looks at their shard.
    await ctx.sleep(MAP_SETTLE_MS);
    let moved = 0;
    for (const shard of shards) {
      const leaving = (await ctx.database(shard).query<User>('SELECT id, name, score FROM users')).filter((u) => shardFor(u.id, next) !== shard);
      for (const u of leaving) await ctx.database(shardFor(u.id, next)).run('INSERT OR REPLACE INTO users (id, name, score) VALUES (?, ?, ?)', [u.id, u.name, u.score]);
      moved += leaving.length;
    }
    // Every moving user is on its new shard: reads may switch.
    await ctx.kv.set(SHARD_MAP_KEY, JSON.stringify({ shards: next } satisfies ShardMap));
    await ctx.sleep(MAP_SETTLE_MS);
    // Then the copies left behind go, including those of users who signed up during the move.
    for (const shard of shards) {
      const left = (await ctx.database(shard).query<{ id: number }>('SELECT id FROM users')).map((u) => u.id).filter((id) => shardFor(id, next) !== shard);
      if (left.length > 0) await ctx.database(shard).run(`DELETE FROM users WHERE id IN (${left.map(() => '?').join(', ')})`, left);
    }
    return { shards: next, moved };
  }

  /** The primary as the failover monitor last recorded it; the configured one until a failover. */
  async function currentPrimary(): Promise<string> {
    return (await ctx.kv.get(databases.primaryKey)) ?? databases.primary;
  }

  async function handle(req: Request, url: URL): Promise<Response> {
    const { pathname } = url;
    if (pathname === '/health') return new Response('ok');
    // Asked on every request, so no clone keeps writing to a primary the monitor has replaced.
    const primaryName = await currentPrimary();
    const primary = pooled(ctx.database(primaryName), usePrimary);

    // Log in, opening the account on the first visit.
    if (req.method === 'POST' && pathname === '/login') {
      const { user } = (await req.json()) as { user?: string };
      if (!user) throw new Refused(400, 'user is required');
      const { position } = await primary.run('INSERT INTO accounts (user, name) VALUES (?, ?) ON CONFLICT (user) DO NOTHING', [user, user]);
      const sid = Math.floor(ctx.random() * 2 ** 48).toString(36);
      await saveSession(sid, { user, position });
      return Response.json({ user }, { headers: { 'set-cookie': `sid=${sid}; HttpOnly; Path=/` } });
    }

    // The logged-in user's own account page.
    if (req.method === 'GET' && pathname === '/me') {
      const { session } = await sessionOf(req);
      const reader = await readerFor(session, primary);
      const [account] = await reader.query<Account>('SELECT user, name, balance FROM accounts WHERE user = ?', [session.user]);
      if (!account) throw new Refused(404, 'no such account');
      return Response.json(account);
    }

    // Change the display name.
    if (req.method === 'POST' && pathname === '/me/name') {
      const { sid, session } = await sessionOf(req);
      const { name } = (await req.json()) as { name?: string };
      if (!name) throw new Refused(400, 'name is required');
      const { position } = await primary.run('UPDATE accounts SET name = ? WHERE user = ?', [name, session.user]);
      await wrote(sid, session, position);
      return Response.json({ user: session.user, name });
    }

    if (req.method === 'POST' && pathname === '/deposit') {
      const { sid, session } = await sessionOf(req);
      const amount = await amountOf(req);
      const { position } = await primary.run('UPDATE accounts SET balance = balance + ? WHERE user = ?', [amount, session.user]);
      await wrote(sid, session, position);
      return Response.json({ deposited: amount });
    }

    // A debit: refused when the balance does not cover it.
    if (req.method === 'POST' && pathname === '/withdraw') {
      const { sid, session } = await sessionOf(req);
      const amount = await amountOf(req);
      // A balance check before a debit must not be stale: it reads the primary.
      const [account] = await primary.query<Account>('SELECT balance FROM accounts WHERE user = ?', [session.user]);
      if (!account || account.balance < amount) throw new Refused(409, `insufficient funds: balance ${account?.balance ?? 0}`);
      // The WHERE re-checks the balance, so two withdrawals at once cannot both pass.
      const { changes, position } = await primary.run('UPDATE accounts SET balance = balance - ? WHERE user = ? AND balance >= ?', [amount, session.user, amount]);
      if (changes === 0) throw new Refused(409, 'insufficient funds');
      await wrote(sid, session, position);
      return Response.json({ withdrawn: amount });
    }

    // Move money to another user, all or nothing.
    if (req.method === 'POST' && pathname === '/transfer') {
      const { sid, session } = await sessionOf(req);
      const { to } = (await req.clone().json()) as { to?: string };
      const amount = await amountOf(req);
      // A transaction runs on one connection, on the primary: its reads too.
      await primary.transaction(async (tx) => {
        const [from] = await tx.query<Account>('SELECT balance FROM accounts WHERE user = ?', [session.user]);
        const [payee] = await tx.query<Account>('SELECT user FROM accounts WHERE user = ?', [to ?? '']);
        if (!payee) throw new Refused(404, `no account ${to}`);
        if (!from || from.balance < amount) throw new Refused(409, `insufficient funds: balance ${from?.balance ?? 0}`);
        await tx.run('UPDATE accounts SET balance = balance - ? WHERE user = ?', [amount, session.user]);
        await tx.run('UPDATE accounts SET balance = balance + ? WHERE user = ?', [amount, to!]);
      });
      // transaction() does not return its commit's position; the primary's latest covers it.
      const status = (await members()).find((m) => m.node === primaryName);
      await wrote(sid, session, status?.received);
      return Response.json({ transferred: amount, to });
    }

    // The users directory, spread over the shards. Ids come from one counter, in order.
    if (req.method === 'POST' && pathname === '/users') {
      const { name, score } = (await req.json()) as { name?: string; score?: number };
      if (!name || typeof score !== 'number') throw new Refused(400, 'name and score are required');
      const id = await ctx.kv.incr('users:next-id');
      const map = await shardMap();
      const shard = shardFor(id, map.shards);
      // While users move, a new user goes to its owner under both maps, so reads find it before and after the switch.
      const owners = new Set([shard, ...(map.next ? [shardFor(id, map.next)] : [])]);
      await Promise.all([...owners].map((owner) => ctx.database(owner).run('INSERT OR REPLACE INTO users (id, name, score) VALUES (?, ?, ?)', [id, name, score])));
      return Response.json({ id, shard: map.next ? shardFor(id, map.next) : shard });
    }

    // The n users with the highest scores: the top n of every shard, merged and sorted again.
    if (req.method === 'GET' && pathname === '/users/top') {
      const n = Number(url.searchParams.get('n') ?? 10);
      const { shards } = await shardMap();
      const perShard = await Promise.all(shards.map((shard) => ctx.database(shard).query<User>('SELECT id, name, score FROM users ORDER BY score DESC, id LIMIT ?', [n])));
      // A user moved a moment ago may still be on its old shard too: keep each id once.
      const unique = [...new Map(perShard.flat().map((u) => [u.id, u])).values()];
      const top = unique.sort((a, b) => b.score - a.score || a.id - b.id);
      return Response.json(top.slice(0, n));
    }

    // Resharding: users move to their owners under the new list while every read still finds them.
    if (req.method === 'POST' && pathname === '/admin/shards') {
      const { shards: next } = (await req.json()) as { shards?: string[] };
      if (!Array.isArray(next) || next.length === 0) throw new Refused(400, 'shards must be a list of databases');
      return Response.json(await reshard(next));
    }

    // One user by id: only the shard that holds them is asked.
    if (req.method === 'GET' && pathname.startsWith('/users/')) {
      const id = Number(pathname.slice('/users/'.length));
      const { shards } = await shardMap();
      const [user] = await ctx.database(shardFor(id, shards)).query<User>('SELECT id, name, score FROM users WHERE id = ?', [id]);
      if (!user) throw new Refused(404, `no user ${id}`);
      return Response.json(user);
    }

    // Anyone's public profile.
    if (req.method === 'GET' && pathname.startsWith('/accounts/')) {
      const user = decodeURIComponent(pathname.slice('/accounts/'.length));
      const [account] = await anyReplica().query<Account>('SELECT user, name FROM accounts WHERE user = ?', [user]);
      if (!account) throw new Refused(404, `no account ${user}`);
      return Response.json(account);
    }

    // The ten largest balances.
    if (req.method === 'GET' && pathname === '/top') {
      return Response.json(await anyReplica().query<Account>('SELECT user, name, balance FROM accounts ORDER BY balance DESC, user LIMIT 10'));
    }

    throw new Refused(404, 'not found');
  }

  return async (req) => {
    try {
      const res = await handle(req, new URL(req.url));
      res.headers.set('x-server', ctx.name);
      return res;
    } catch (err) {
      if (err instanceof Refused) return Response.json({ error: err.message }, { status: err.status, headers: { 'x-server': ctx.name } });
      throw err;
    }
  };
}
