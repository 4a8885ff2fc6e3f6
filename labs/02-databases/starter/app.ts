import { getCookie, type Handler, type NodeContext } from '@scale-lab/kit';
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
  // The shards this clone uses for the users directory.
  let shards = databases.shards;
  // Every statement goes to the primary: the replicas sit idle.
  const primary = ctx.database(databases.primary);

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

  async function handle(req: Request, url: URL): Promise<Response> {
    const { pathname } = url;
    if (pathname === '/health') return new Response('ok');

    // Log in, opening the account on the first visit.
    if (req.method === 'POST' && pathname === '/login') {
      const { user } = (await req.json()) as { user?: string };
      if (!user) throw new Refused(400, 'user is required');
      await primary.run('INSERT INTO accounts (user, name) VALUES (?, ?) ON CONFLICT (user) DO NOTHING', [user, user]);
      const sid = Math.floor(ctx.random() * 2 ** 48).toString(36);
      await saveSession(sid, { user });
      return Response.json({ user }, { headers: { 'set-cookie': `sid=${sid}; HttpOnly; Path=/` } });
    }

    // The logged-in user's own account page.
    if (req.method === 'GET' && pathname === '/me') {
      const { session } = await sessionOf(req);
      const [account] = await primary.query<Account>('SELECT user, name, balance FROM accounts WHERE user = ?', [session.user]);
      if (!account) throw new Refused(404, 'no such account');
      return Response.json(account);
    }

    // Change the display name.
    if (req.method === 'POST' && pathname === '/me/name') {
      const { session } = await sessionOf(req);
      const { name } = (await req.json()) as { name?: string };
      if (!name) throw new Refused(400, 'name is required');
      await primary.run('UPDATE accounts SET name = ? WHERE user = ?', [name, session.user]);
      return Response.json({ user: session.user, name });
    }

    if (req.method === 'POST' && pathname === '/deposit') {
      const { session } = await sessionOf(req);
      const amount = await amountOf(req);
      await primary.run('UPDATE accounts SET balance = balance + ? WHERE user = ?', [amount, session.user]);
      return Response.json({ deposited: amount });
    }

    // A debit: refused when the balance does not cover it.
    if (req.method === 'POST' && pathname === '/withdraw') {
      const { session } = await sessionOf(req);
      const amount = await amountOf(req);
      const [account] = await primary.query<Account>('SELECT balance FROM accounts WHERE user = ?', [session.user]);
      if (!account || account.balance < amount) throw new Refused(409, `insufficient funds: balance ${account?.balance ?? 0}`);
      // The WHERE re-checks the balance, so two withdrawals at once cannot both pass.
      const { changes } = await primary.run('UPDATE accounts SET balance = balance - ? WHERE user = ? AND balance >= ?', [amount, session.user, amount]);
      if (changes === 0) throw new Refused(409, 'insufficient funds');
      return Response.json({ withdrawn: amount });
    }

    // Move money to another user, all or nothing.
    if (req.method === 'POST' && pathname === '/transfer') {
      const { session } = await sessionOf(req);
      const { to } = (await req.clone().json()) as { to?: string };
      const amount = await amountOf(req);
      await primary.transaction(async (tx) => {
        const [from] = await tx.query<Account>('SELECT balance FROM accounts WHERE user = ?', [session.user]);
        const [payee] = await tx.query<Account>('SELECT user FROM accounts WHERE user = ?', [to ?? '']);
        if (!payee) throw new Refused(404, `no account ${to}`);
        if (!from || from.balance < amount) throw new Refused(409, `insufficient funds: balance ${from?.balance ?? 0}`);
        await tx.run('UPDATE accounts SET balance = balance - ? WHERE user = ?', [amount, session.user]);
        await tx.run('UPDATE accounts SET balance = balance + ? WHERE user = ?', [amount, to!]);
      });
      return Response.json({ transferred: amount, to });
    }

    // The users directory, spread over the shards. Ids come from one counter, in order.
    if (req.method === 'POST' && pathname === '/users') {
      const { name, score } = (await req.json()) as { name?: string; score?: number };
      if (!name || typeof score !== 'number') throw new Refused(400, 'name and score are required');
      const id = await ctx.kv.incr('users:next-id');
      const shard = shardFor(id, shards);
      await ctx.database(shard).run('INSERT INTO users (id, name, score) VALUES (?, ?, ?)', [id, name, score]);
      return Response.json({ id, shard });
    }

    // The n users with the highest scores.
    if (req.method === 'GET' && pathname === '/users/top') {
      const n = Number(url.searchParams.get('n') ?? 10);
      const top: User[] = [];
      for (const shard of shards) {
        top.push(...(await ctx.database(shard).query<User>('SELECT id, name, score FROM users ORDER BY score DESC, id LIMIT ?', [n])));
      }
      return Response.json(top.slice(0, n));
    }

    if (req.method === 'GET' && pathname.startsWith('/users/')) {
      const id = Number(pathname.slice('/users/'.length));
      // Asks every shard until one has the user.
      for (const shard of shards) {
        const [user] = await ctx.database(shard).query<User>('SELECT id, name, score FROM users WHERE id = ?', [id]);
        if (user) return Response.json(user);
      }
      throw new Refused(404, `no user ${id}`);
    }

    // Resharding: from now on, the users directory is spread over these shards.
    if (req.method === 'POST' && pathname === '/admin/shards') {
      const { shards: next } = (await req.json()) as { shards?: string[] };
      if (!Array.isArray(next) || next.length === 0) throw new Refused(400, 'shards must be a list of databases');
      // Only this clone learns of the new shards, and no user is moved.
      shards = next;
      return Response.json({ shards });
    }

    // Anyone's public profile.
    if (req.method === 'GET' && pathname.startsWith('/accounts/')) {
      const user = decodeURIComponent(pathname.slice('/accounts/'.length));
      const [account] = await primary.query<Account>('SELECT user, name FROM accounts WHERE user = ?', [user]);
      if (!account) throw new Refused(404, `no account ${user}`);
      return Response.json(account);
    }

    // The ten largest balances.
    if (req.method === 'GET' && pathname === '/top') {
      return Response.json(await primary.query<Account>('SELECT user, name, balance FROM accounts ORDER BY balance DESC, user LIMIT 10'));
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
