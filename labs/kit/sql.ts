/**
 * Database nodes that run real SQL: SQLite compiled to WebAssembly (sql.js), which runs the same
 * in Node, in a browser Worker and in WebContainer.
 */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';

export type SqlValue = string | number | null | Uint8Array;
export type SqlRow = Record<string, SqlValue>;

/** What a node holds as `ctx.db`: every statement is asynchronous and costs time. */
export interface SqlClient {
  /** Runs a SELECT (or any statement) and returns its rows as objects keyed by column name. */
  query<T = SqlRow>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** Runs INSERT, UPDATE or DELETE and says how many rows changed and the last inserted row id. */
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number; lastInsertRowid: number }>;
}

/** Where sql.js finds its .wasm: by default its own file next to it (Node); a URL in the browser. */
export interface SqlWasmSource {
  locateFile?: (file: string) => string;
  wasmBinary?: ArrayBuffer;
}

let wasmSource: SqlWasmSource = {};
let engine: Promise<SqlJsStatic> | undefined;

/** Tells the kit where the SQLite .wasm lives; call before the first database is created. */
export function configureSqlWasm(source: SqlWasmSource): void {
  wasmSource = source;
  engine = undefined;
}

function loadEngine(): Promise<SqlJsStatic> {
  engine ??= initSqlJs(wasmSource).catch((err: unknown) => {
    engine = undefined;
    throw new Error(`Could not load SQLite (sql.js WebAssembly): ${err instanceof Error ? err.message : String(err)}`);
  });
  return engine;
}

/** One SQLite database in memory, answering synchronously; the cluster adds cost and network. */
export class SqlDatabase {
  readonly #db: Database;

  private constructor(db: Database) {
    this.#db = db;
  }

  /** A new database, with `setup` (schema and rows, several statements) already run. */
  static async create(setup = ''): Promise<SqlDatabase> {
    const SQL = await loadEngine();
    const db = new SQL.Database();
    if (setup) db.exec(setup);
    return new SqlDatabase(db);
  }

  query<T = SqlRow>(sql: string, params: SqlValue[] = []): T[] {
    const stmt = this.#db.prepare(sql);
    try {
      stmt.bind(params);
      const rows: T[] = [];
      while (stmt.step()) rows.push(stmt.getAsObject() as T);
      return rows;
    } finally {
      stmt.free();
    }
  }

  run(sql: string, params: SqlValue[] = []): { changes: number; lastInsertRowid: number } {
    this.#db.run(sql, params);
    const changes = this.#db.getRowsModified();
    const last = this.#db.exec('SELECT last_insert_rowid() AS id')[0]?.values[0]?.[0];
    return { changes, lastInsertRowid: Number(last ?? 0) };
  }

  close(): void {
    this.#db.close();
  }
}
