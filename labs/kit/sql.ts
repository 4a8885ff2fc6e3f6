/**
 * Database nodes that run real SQL: SQLite compiled to WebAssembly (sql.js), which runs the same
 * in Node, in a browser Worker and in WebContainer. This file loads the engine and runs statements
 * on one sql.js handle, with SQL's clock and randomness taken from the cluster (so SQL is as
 * deterministic as the rest of the run). Connections and transactions are in wal.ts.
 */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';

export type SqlValue = string | number | null | Uint8Array;
export type SqlRow = Record<string, SqlValue>;

/** What `run` says about a write. */
export interface RunResult {
  changes: number;
  lastInsertRowid: number;
  /** On a replicated primary, the log position of the commit this write made (or COMMIT ended). */
  position?: number;
}

/** A write as it ran, with the time and random numbers it saw, so a replica replays it exactly. */
export interface LoggedStatement {
  sql: string;
  params: SqlValue[];
  now: number;
  randoms: number[];
}

/** What a node holds as `ctx.db`: every statement is asynchronous and costs time. */
export interface SqlClient {
  /** Runs a SELECT (or any statement) and returns its rows as objects keyed by column name. */
  query<T = SqlRow>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** Runs INSERT, UPDATE or DELETE and says how many rows changed and the last inserted row id. */
  run(sql: string, params?: SqlValue[]): Promise<RunResult>;
  /**
   * Runs `work` in a transaction on a connection of its own: BEGIN, then COMMIT when `work`
   * resolves, ROLLBACK when it throws (the error is rethrown). Writers wait up to the busy timeout
   * for the write lock; a transaction that read before another commit and then writes fails with
   * SQLITE_BUSY, like SQLite in WAL mode.
   */
  transaction<T>(work: (tx: Omit<SqlClient, 'transaction'>) => Promise<T>): Promise<T>;
}

/** Where sql.js finds its .wasm: by default its own file next to it (Node); a URL in the browser. */
export interface SqlWasmSource {
  locateFile?: (file: string) => string;
  wasmBinary?: ArrayBuffer;
  /**
   * An engine to use instead of loading this kit's own: a host that evaluates a fresh kit for every
   * test file (the browser Worker) gives them all one SQLite, because each load reserves a
   * WebAssembly memory and Chromium ran out of them after 25 runs of a lab in one page.
   */
  load?: () => Promise<SqlJsStatic>;
}

/** Time and randomness for SQL's `CURRENT_TIMESTAMP`, `datetime('now')` and `random()`. */
export interface SqlClock {
  /** Milliseconds since 1970 as SQL should see them (the cluster's clock). */
  now(): number;
  /** A number in [0, 1). */
  random(): number;
}

let wasmSource: SqlWasmSource = {};
let engine: Promise<SqlJsStatic> | undefined;

/** Tells the kit where the SQLite .wasm lives; call before the first database is created. */
export function configureSqlWasm(source: SqlWasmSource): void {
  wasmSource = source;
  engine = undefined;
}

/** Loads this kit's own sql.js from `source`, ignoring any shared engine (for a host that shares it). */
export function loadSqlJs(source: SqlWasmSource): Promise<SqlJsStatic> {
  return initSqlJs(source);
}

export function loadEngine(): Promise<SqlJsStatic> {
  engine ??= (wasmSource.load ? wasmSource.load() : initSqlJs(wasmSource)).catch((err: unknown) => {
    engine = undefined;
    throw new Error(`Could not load SQLite (sql.js WebAssembly): ${err instanceof Error ? err.message : String(err)}`);
  });
  return engine;
}

/** Every handle not yet closed, so that a host sharing one engine can free what a test file left. */
const openHandles = new Set<SqlHandle>();

/**
 * Closes every database this kit opened. A test file's clusters are done when it ends, but nothing
 * closes their databases; with an engine shared across files they would fill its memory.
 */
export function closeDatabases(): void {
  for (const handle of openHandles) handle.close();
}

/** SQLite's own error codes for the failures a reader may branch on. */
export type SqlErrorCode = 'SQLITE_BUSY' | 'SQLITE_ERROR' | 'SQLITE_READONLY';

/** An error SQLite itself would raise, with its code. */
export class SqlError extends Error {
  readonly code: SqlErrorCode;

  constructor(code: SqlErrorCode, message: string) {
    super(message);
    this.name = 'SqlError';
    this.code = code;
  }
}

/**
 * One sql.js handle whose statements read the cluster's clock and seeded randomness. SQLite reads
 * the time through the C library, which Emscripten answers with `Date.now()`: it is pointed at the
 * cluster's clock for the length of each (synchronous) statement.
 */
export class SqlHandle {
  readonly #db: Database;
  #clock: SqlClock;
  /** SQL's random() reads the cluster's randomness (see #seedRandomIfNamed). */
  #randomSeeded = false;

  /** `randomSeeded`: a copy of a handle whose random() was already the cluster's. */
  constructor(db: Database, clock: SqlClock, randomSeeded = false) {
    this.#db = db;
    this.#clock = clock;
    openHandles.add(this);
    // sql.js keeps each database in a file of Emscripten's in-memory file system, so by default every
    // commit writes a rollback journal there, syncs it, deletes it, and re-reads the file's header at
    // the next statement. Nothing survives a crash of this process anyway: the journal in memory, the
    // file held by this one handle and no syncs make writes about five times and reads twice as fast,
    // and change no result.
    db.exec('PRAGMA journal_mode = MEMORY; PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF;');
    if (randomSeeded) this.#seedRandom();
  }

  #seedRandom(): void {
    this.#randomSeeded = true;
    // random() is a 64-bit integer in SQLite; a safe integer keeps it exact in JavaScript.
    this.#db.create_function('random', () => Math.floor((this.#clock.random() - 0.5) * 2 ** 53));
  }

  /**
   * Points random() at the cluster's randomness before the first statement that names it. sql.js
   * builds a small WebAssembly module for each function it registers, which would cost every new
   * database, and every copy a transaction makes, more than its statements; random() can only run
   * from SQL that names it, here or in a schema made by such SQL (a copy inherits the registration).
   */
  #seedRandomIfNamed(sql: string): void {
    if (!this.#randomSeeded && /random/i.test(sql)) this.#seedRandom();
  }

  /** Runs a write and says what it saw (time, random draws), for a replica to replay. */
  record<T>(sql: string, params: SqlValue[] | undefined, statement: (handle: SqlHandle) => T): { result: T; logged: LoggedStatement } {
    const base = this.#clock;
    const now = base.now();
    const randoms: number[] = [];
    const result = this.#with({ now: () => now, random: () => {
      const r = base.random();
      randoms.push(r);
      return r;
    } }, () => statement(this));
    return { result, logged: { sql, params: params ?? [], now, randoms } };
  }

  /** Runs a logged write again, seeing the time and random numbers it saw the first time. */
  replay(logged: LoggedStatement): void {
    let i = 0;
    this.#with({ now: () => logged.now, random: () => logged.randoms[i++] ?? 0 }, () => this.run(logged.sql, logged.params));
  }

  #with<T>(clock: SqlClock, fn: () => T): T {
    const base = this.#clock;
    this.#clock = clock;
    try {
      return fn();
    } finally {
      this.#clock = base;
    }
  }

  #onClock<T>(fn: () => T): T {
    // Read first: the cluster's clock may itself read Date.now (a real clock), which is replaced below.
    // One reading per statement is what SQLite does anyway ('now' is fixed within a statement).
    const now = this.#clock.now();
    const realNow = Date.now;
    Date.now = () => now;
    try {
      return fn();
    } finally {
      Date.now = realNow;
    }
  }

  query<T = SqlRow>(sql: string, params: SqlValue[] = []): T[] {
    this.#seedRandomIfNamed(sql);
    return this.#onClock(() => {
      const stmt = this.#db.prepare(sql);
      try {
        stmt.bind(params);
        const rows: T[] = [];
        while (stmt.step()) rows.push(stmt.getAsObject() as T);
        return rows;
      } finally {
        stmt.free();
      }
    });
  }

  run(sql: string, params: SqlValue[] = []): RunResult {
    this.#seedRandomIfNamed(sql);
    return this.#onClock(() => {
      this.#db.run(sql, params);
      const changes = this.#db.getRowsModified();
      const last = this.#db.exec('SELECT last_insert_rowid() AS id')[0]?.values[0]?.[0];
      return { changes, lastInsertRowid: Number(last ?? 0) };
    });
  }

  /** Runs several statements (a schema and its rows). */
  exec(sql: string): void {
    this.#seedRandomIfNamed(sql);
    this.#onClock(() => this.#db.exec(sql));
  }

  /** An independent copy of the whole database, as of now (`SQL` is the loaded engine). */
  copy(SQL: SqlJsStatic): SqlHandle {
    return new SqlHandle(new SQL.Database(this.#db.export()), this.#clock, this.#randomSeeded);
  }

  close(): void {
    if (!openHandles.delete(this)) return;
    this.#db.close();
  }
}
