import { getCookie, type Handler, type NodeContext, type SqlClient } from '@scale-lab/kit';

/** The database names this app is given: the primary takes writes; the replicas follow it. */
export interface Databases {
  primary: string;
  replicas: string[];
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
  // Writes, transactions and reads that must not be stale go to the primary; plain reads to the replicas, in turn.
  const primary = ctx.database(databases.primary);
  const replicas = databases.replicas.map((name) => ({ name, db: ctx.database(name) }));
  let turn = 0;

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
  async function readerFor(session: Session): Promise<SqlClient> {
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

  async function handle(req: Request, url: URL): Promise<Response> {
    const { pathname } = url;
    if (pathname === '/health') return new Response('ok');

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
      const reader = await readerFor(session);
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
      const status = (await members()).find((m) => m.node === databases.primary);
      await wrote(sid, session, status?.received);
      return Response.json({ transferred: amount, to });
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
