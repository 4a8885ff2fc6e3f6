/**
 * SQLite's WAL-mode concurrency over sql.js, which has no shared cache between handles: one
 * writer at a time; readers never wait and see the last commit; a transaction keeps the snapshot
 * of its first read; a transaction that read before another commit and then tries to write fails
 * with SQLITE_BUSY; writers wait up to a busy timeout (5 s) for the write lock.
 *
 * Modelled copy-on-write: the last commit is one sql.js handle that is never changed while a
 * snapshot holds it. A write transaction works on a private copy, published as the new last
 * commit on COMMIT; a write outside a transaction changes the last commit in place when no
 * snapshot holds it (the common case, so single statements cost no copy).
 */
import type { SqlJsStatic } from 'sql.js';
import type { Clock } from './clock.ts';
import { SqlError, SqlHandle, loadEngine, type LoggedStatement, type RunResult, type SqlClock, type SqlRow, type SqlValue } from './sql.ts';

/** Told of every commit with the writes it made; returns the commit's log position (replication). */
export type CommitHook = (writes: LoggedStatement[]) => number | undefined;

/** SQLite's default busy timeout in many drivers (better-sqlite3, Python's sqlite3): 5 s. */
export const BUSY_TIMEOUT = 5_000;

interface Version {
  handle: SqlHandle;
  /** Commits so far; a snapshot older than the last commit cannot be written from. */
  number: number;
  /** Transactions reading this version. */
  pins: number;
  /** Replaced by a newer commit: closed when the last pin goes. */
  retired: boolean;
}

type StatementKind = 'begin' | 'begin-immediate' | 'commit' | 'rollback' | 'read' | 'write';

/** What a statement does to transactions, from its first words (enough for what labs write). */
export function statementKind(sql: string): StatementKind {
  const words = sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ').trim().toUpperCase().split(/\s+/);
  const [first = '', second = ''] = words;
  if (first === 'BEGIN') return second === 'IMMEDIATE' || second === 'EXCLUSIVE' ? 'begin-immediate' : 'begin';
  if (first === 'COMMIT' || first === 'END') return 'commit';
  if (first === 'ROLLBACK' && second !== 'TO') return 'rollback';
  if (first === 'SELECT' || first === 'VALUES' || first === 'EXPLAIN') return 'read';
  if (first === 'WITH' && !/\b(INSERT|UPDATE|DELETE|REPLACE)\b/.test(sql.toUpperCase())) return 'read';
  return 'write';
}

/** One database shared by many connections. */
export class WalDatabase {
  readonly #SQL: SqlJsStatic;
  readonly #timers: Clock;
  readonly busyTimeout: number;
  #committed: Version;
  #writer: WalConnection | undefined;
  /** Set on a replicated database: told of every commit. */
  onCommit: CommitHook | undefined;
  /** A replica refuses writes from connections. */
  readOnly = false;
  readonly #waiting: { conn: WalConnection; granted: () => void; cancel: () => void }[] = [];

  private constructor(SQL: SqlJsStatic, handle: SqlHandle, timers: Clock, busyTimeout: number) {
    this.#SQL = SQL;
    this.#timers = timers;
    this.busyTimeout = busyTimeout;
    this.#committed = { handle, number: 0, pins: 0, retired: false };
  }

  /** A new database with `setup` (schema and rows) run in it. */
  static async create(setup: string, clock: SqlClock, timers: Clock, busyTimeout = BUSY_TIMEOUT): Promise<WalDatabase> {
    const SQL = await loadEngine();
    const handle = new SqlHandle(new SQL.Database(), clock);
    if (setup) handle.exec(setup);
    return new WalDatabase(SQL, handle, timers, busyTimeout);
  }

  /** How many commits so far. */
  get commits(): number {
    return this.#committed.number;
  }

  /** A new connection: its own transaction state, like one `sqlite3_open`. */
  connect(): WalConnection {
    return new WalConnection(this);
  }

  // ---- used by connections -----------------------------------------------------------------

  /** The last commit, pinned for a transaction's reads until `unpin`. */
  pin(): Version {
    this.#committed.pins++;
    return this.#committed;
  }

  unpin(version: Version): void {
    version.pins--;
    if (version.pins === 0 && version.retired) version.handle.close();
  }

  isLatest(version: Version): boolean {
    return version === this.#committed;
  }

  /** Reads the last commit (a statement outside a transaction). */
  readLatest<T>(read: (handle: SqlHandle) => T): T {
    return read(this.#committed.handle);
  }

  /** A private copy of the last commit, for a write transaction. */
  copyLatest(): SqlHandle {
    return this.#committed.handle.copy(this.#SQL);
  }

  /** Makes `handle` the last commit, made of `writes`; returns its log position when replicated. */
  publish(handle: SqlHandle, writes: LoggedStatement[]): number | undefined {
    const old = this.#committed;
    if (handle !== old.handle) {
      this.#committed = { handle, number: old.number + 1, pins: 0, retired: false };
      if (old.pins === 0) old.handle.close();
      else old.retired = true;
    } else {
      old.number++;
    }
    return writes.length > 0 ? this.onCommit?.(writes) : undefined;
  }

  /**
   * Writes one statement as its own commit (the caller holds the write lock, or nobody does): in
   * place when no snapshot holds the last commit, else on a copy, so that snapshot stays as it was.
   */
  writeLatest<T>(sql: string, params: SqlValue[] | undefined, write: (handle: SqlHandle) => T): { result: T; position: number | undefined } {
    const current = this.#committed;
    const target = current.pins === 0 ? current.handle : this.copyLatest();
    try {
      const { result, logged } = target.record(sql, params, write);
      return { result, position: this.publish(target, [logged]) };
    } catch (err) {
      if (target !== current.handle) target.close();
      throw err;
    }
  }

  /** Applies a replicated commit (a replica, from its primary's log). */
  apply(writes: LoggedStatement[]): void {
    const current = this.#committed;
    const target = current.pins === 0 ? current.handle : this.copyLatest();
    for (const write of writes) target.replay(write);
    this.publish(target, []);
  }

  get writer(): WalConnection | undefined {
    return this.#writer;
  }

  /** Takes the write lock for `conn`, waiting up to the busy timeout; SQLITE_BUSY after that. */
  lock(conn: WalConnection): Promise<void> {
    if (this.#writer === undefined || this.#writer === conn) {
      this.#writer = conn;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        conn,
        granted: () => {
          cancelTimer();
          resolve();
        },
        cancel: () => {
          const at = this.#waiting.indexOf(entry);
          if (at >= 0) this.#waiting.splice(at, 1);
        },
      };
      const cancelTimer = this.#timers.setTimeout(() => {
        entry.cancel();
        reject(new SqlError('SQLITE_BUSY', `database is locked (another connection held the write lock for the whole busy timeout of ${this.busyTimeout} ms)`));
      }, this.busyTimeout);
      this.#waiting.push(entry);
    });
  }

  unlock(conn: WalConnection): void {
    if (this.#writer !== conn) return;
    const next = this.#waiting.shift();
    this.#writer = next?.conn;
    next?.granted();
  }

  /** Stops every waiter of a closed connection. */
  forget(conn: WalConnection): void {
    for (const entry of [...this.#waiting]) if (entry.conn === conn) entry.cancel();
    this.unlock(conn);
  }
}

interface Transaction {
  /** The snapshot of the first read, until the transaction writes. */
  snapshot: Version | undefined;
  /** The private copy a writing transaction works on. */
  work: SqlHandle | undefined;
  /** Its writes so far, for the replication log. */
  writes: LoggedStatement[];
}

export type Executed = SqlRow[] | RunResult;

/** One connection: autocommit statements, or one transaction at a time. */
export class WalConnection {
  readonly #db: WalDatabase;
  #txn: Transaction | undefined;
  #closed = false;

  constructor(db: WalDatabase) {
    this.#db = db;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get inTransaction(): boolean {
    return this.#txn !== undefined;
  }

  /** Runs one statement; `rows` says whether the caller wants rows (query) or a count (run). */
  async execute(sql: string, params: SqlValue[] | undefined, rows: boolean): Promise<Executed> {
    if (this.#closed) throw new SqlError('SQLITE_ERROR', 'the connection is closed');
    const statement = (handle: SqlHandle): Executed => (rows ? handle.query(sql, params) : handle.run(sql, params));
    const none: RunResult = { changes: 0, lastInsertRowid: 0 };
    const kind = statementKind(sql);
    const txn = this.#txn;
    switch (kind) {
      case 'begin':
      case 'begin-immediate':
        if (txn) throw new SqlError('SQLITE_ERROR', 'cannot start a transaction within a transaction');
        this.#txn = { snapshot: undefined, work: undefined, writes: [] };
        if (kind === 'begin-immediate') await this.#startWriting(this.#txn);
        return rows ? [] : none;
      case 'commit': {
        if (!txn) throw new SqlError('SQLITE_ERROR', 'cannot commit - no transaction is active');
        const position = txn.work ? this.#db.publish(txn.work, txn.writes) : undefined;
        txn.work = undefined;
        this.#end(txn);
        return rows ? [] : position === undefined ? none : { ...none, position };
      }
      case 'rollback':
        if (!txn) throw new SqlError('SQLITE_ERROR', 'cannot rollback - no transaction is active');
        this.#end(txn);
        return rows ? [] : none;
      case 'read':
        if (!txn) return this.#db.readLatest(statement);
        if (txn.work) return statement(txn.work);
        txn.snapshot ??= this.#db.pin();
        return statement(txn.snapshot.handle);
      case 'write':
        if (this.#db.readOnly) throw new SqlError('SQLITE_READONLY', 'attempt to write a readonly database (this is a replica: send writes to the primary)');
        if (!txn) {
          if (/^\s*SAVEPOINT\b/i.test(sql)) throw new SqlError('SQLITE_ERROR', 'SAVEPOINT outside BEGIN … COMMIT is not modelled by the kit: use BEGIN');
          await this.#db.lock(this);
          try {
            const { result, position } = this.#db.writeLatest(sql, params, statement);
            return position === undefined || Array.isArray(result) ? result : { ...result, position };
          } finally {
            this.#db.unlock(this);
          }
        }
        const work = txn.work ?? (await this.#startWriting(txn));
        const { result, logged } = work.record(sql, params, statement);
        txn.writes.push(logged);
        return result;
    }
  }

  /** Takes the write lock for a transaction and gives it its private copy of the last commit. */
  async #startWriting(txn: Transaction): Promise<SqlHandle> {
    await this.#db.lock(this);
    if (this.#txn !== txn) {
      this.#db.unlock(this);
      throw new SqlError('SQLITE_ERROR', 'the transaction ended while waiting for the write lock');
    }
    if (txn.snapshot && !this.#db.isLatest(txn.snapshot)) {
      // WAL: a reader whose snapshot is no longer the last commit cannot become a writer.
      this.#db.unlock(this);
      throw new SqlError('SQLITE_BUSY', 'database is locked (this transaction read before another connection committed, so it cannot write: roll back and retry)');
    }
    txn.work = this.#db.copyLatest();
    if (txn.snapshot) {
      this.#db.unpin(txn.snapshot);
      txn.snapshot = undefined;
    }
    return txn.work;
  }

  #end(txn: Transaction): void {
    if (txn.snapshot) this.#db.unpin(txn.snapshot);
    txn.work?.close();
    this.#txn = undefined;
    this.#db.unlock(this);
  }

  /** Closes the connection: an open transaction rolls back, a wait for the lock ends. */
  close(): void {
    if (this.#closed) return;
    if (this.#txn) this.#end(this.#txn);
    this.#db.forget(this);
    this.#closed = true;
  }
}

/**
 * Direct access to a database for tests and scenarios (no network, no cost, not counted): reads see
 * the last commit; a write is a commit of its own, refused with SQLITE_BUSY while a connection holds
 * the write lock.
 */
export class SqlDatabase {
  readonly #wal: WalDatabase;

  constructor(wal: WalDatabase) {
    this.#wal = wal;
  }

  /** How many commits so far. */
  get commits(): number {
    return this.#wal.commits;
  }

  query<T = SqlRow>(sql: string, params: SqlValue[] = []): T[] {
    return this.#wal.readLatest((handle) => handle.query<T>(sql, params));
  }

  run(sql: string, params: SqlValue[] = []): RunResult {
    if (this.#wal.writer) throw new SqlError('SQLITE_BUSY', 'database is locked (a connection holds the write lock)');
    const { result, position } = this.#wal.writeLatest(sql, params, (handle) => handle.run(sql, params));
    return position === undefined ? result : { ...result, position };
  }
}
