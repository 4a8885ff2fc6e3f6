/**
 * The SQL database as a node of the cluster: SQLite (sql.ts) with WAL-mode connections (wal.ts)
 * behind the network. Each caller has its own connection, so two nodes can each run BEGIN … COMMIT;
 * `transaction()` opens one more for its length. Each statement is a round trip that spends CPU on
 * the database's cores, counted for the database and for its caller.
 */
import { Capacity, type CapacityOptions } from '../capacity.ts';
import { withLimits, type CallOptions } from '../failures.ts';
import { ClusterNode, type NodeEnv } from '../node.ts';
import { SqlError, type RunResult, type SqlClient, type SqlRow, type SqlValue } from '../sql.ts';
import { SqlDatabase, type WalConnection, type WalDatabase } from '../wal.ts';

/** A caller's connection, and the capacity slot it holds while a transaction is open. */
class Session {
  readonly conn: WalConnection;
  #held: (() => void) | undefined;

  constructor(conn: WalConnection) {
    this.conn = conn;
  }

  /** After each statement: a transaction keeps its slot from BEGIN to COMMIT or ROLLBACK. */
  settle(keep: () => () => void): void {
    if (this.conn.inTransaction) this.#held ??= keep();
    else this.release();
  }

  release(): void {
    this.#held?.();
    this.#held = undefined;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  close(): void {
    this.conn.close();
    this.release();
  }
}

export class DatabaseNode extends ClusterNode {
  readonly kind = 'db';
  readonly wal: WalDatabase;
  /** Direct access for tests: no network, no cost, not counted. */
  readonly database: SqlDatabase;
  /** CPU time one statement costs, in ms, on the database's own cores. */
  readonly cost: number;
  /** Each caller's connection, by caller life (a node) or name (a test, a client). */
  readonly #byLife = new WeakMap<AbortSignal, Session>();
  readonly #byName = new Map<string, Session>();
  readonly #open = new Set<Session>();
  readonly #onRevive: (() => void)[] = [];
  /** Resolves when a commit at `position` may be acknowledged (semi-synchronous replication waits for replicas). */
  acknowledge: (position: number) => Promise<void> = () => Promise.resolve();

  constructor(name: string, env: NodeEnv, wal: WalDatabase, cost: number, capacity: CapacityOptions = {}) {
    super(name, new Capacity(env.clock, capacity));
    this.wal = wal;
    this.database = new SqlDatabase(wal);
    this.cost = cost;
  }

  /** The connection of caller `from` in its current life; a new one after either side restarts. */
  sessionOf(from: string, life: AbortSignal | undefined): Session {
    const existing = life ? this.#byLife.get(life) : this.#byName.get(from);
    if (existing && !existing.closed) return existing;
    const session = this.openSession(life);
    if (life) this.#byLife.set(life, session);
    else this.#byName.set(from, session);
    return session;
  }

  /** A connection of its own, closed (its transaction rolled back) when the caller goes down. */
  openSession(life: AbortSignal | undefined): Session {
    const session = new Session(this.wal.connect());
    this.#open.add(session);
    life?.addEventListener('abort', () => this.closeSession(session), { once: true });
    return session;
  }

  closeSession(session: Session): void {
    session.close();
    this.#open.delete(session);
  }

  /** Calls `fn` each time the node is revived. */
  onRevive(fn: () => void): void {
    this.#onRevive.push(fn);
  }

  protected override started(): void {
    for (const fn of this.#onRevive) fn();
  }

  /** A database that goes down drops every connection: open transactions roll back. */
  override kill(): boolean {
    if (!super.kill()) return false;
    for (const session of this.#open) session.close();
    this.#open.clear();
    this.#byName.clear();
    return true;
  }
}

/** The database named `name` as a node, or an error saying there is none. */
export function databaseNode(env: NodeEnv, name: string, asker: string): DatabaseNode {
  const node = env.network.find(name);
  if (!(node instanceof DatabaseNode)) throw new Error(`${asker}: this cluster has no database named "${name}".`);
  return node;
}

/** The client `from` holds for the database `name`: every statement crosses the network and costs time. */
export function databaseClient(env: NodeEnv, from: string, name: string, limits: CallOptions = {}): SqlClient {
  const node = databaseNode(env, name, from);
  const life = env.network.find(from)?.life;
  const own = statementsOn(env, node, from, limits, () => node.sessionOf(from, life));
  return {
    ...own,
    async transaction(work) {
      const session = node.openSession(life);
      const tx = statementsOn(env, node, from, limits, () => session);
      try {
        await tx.run('BEGIN');
        const result = await work(tx);
        await tx.run('COMMIT');
        return result;
      } catch (err) {
        if (session.conn.inTransaction) await tx.run('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        node.closeSession(session);
      }
    },
  };
}

/** query and run on the session `sessionOf()` gives at each call. */
function statementsOn(env: NodeEnv, node: DatabaseNode, from: string, limits: CallOptions, sessionOf: () => Session): Omit<SqlClient, 'transaction'> {
  const { clock, metrics, network } = env;
  const name = node.name;
  const call = (sql: string, params: SqlValue[] | undefined, rows: boolean) => {
    const session = sessionOf();
    return withLimits(clock, limits, (signal) => network.deliver(from, name, signal, async (_, connection) => {
      if (node.cost > 0) await node.work(node.cost);
      metrics.of(name).requests++;
      metrics.of(name).queries++;
      metrics.of(from).queries++;
      metrics.emit({ type: 'query', at: clock.now(), from, node: name, sql });
      if (node.state === 'killed') throw new SqlError('SQLITE_ERROR', `the connection to ${name} was lost`);
      let result: Awaited<ReturnType<WalConnection['execute']>>;
      try {
        result = await session.conn.execute(sql, params, rows);
      } finally {
        session.settle(() => connection.keep());
      }
      if (!Array.isArray(result) && result.position !== undefined) await node.acknowledge(result.position);
      return result;
    }, { connected: session.conn.inTransaction }));
  };
  return {
    query: async <T = SqlRow>(sql: string, params?: SqlValue[]) => (await call(sql, params, true)) as T[],
    run: async (sql: string, params?: SqlValue[]) => (await call(sql, params, false)) as RunResult,
  };
}
