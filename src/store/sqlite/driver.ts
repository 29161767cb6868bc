/**
 * SQLite dialect, on better-sqlite3. URL: `sqlite:<path>` (the parent folder is created) or
 * `sqlite::memory:`. WAL journal, so that a second, read-only connection can stream one query
 * while the main connection writes (`stream`). better-sqlite3 is synchronous; the promises
 * here only keep the interface shared with PostgreSQL.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { SyncupError } from "../../errors.js";
import { acquireFileLock } from "../../support/file-lock.js";
import { batchesOf, connectorBusy, type Driver, type RowSource, type SqlValue } from "../driver.js";

type Statement = Database.Statement<SqlValue[], unknown>;

const STATEMENT_CACHE_LIMIT = 256;

export class SqliteDriver implements Driver {
  readonly dialect = "sqlite";
  private readonly statements = new Map<string, Statement>();
  private inTransaction = false;

  private constructor(
    private readonly db: Database.Database,
    /** File path, or null for an in-memory database. */
    private readonly path: string | null,
    readonly label: string,
  ) {}

  /** Opens `sqlite:<path>` or `sqlite::memory:`. */
  static open(url: string): SqliteDriver {
    const target = url.slice("sqlite:".length);
    if (target === "") {
      throw new SyncupError(
        "DATABASE_URL_INVALID",
        `"${url}" names no file: use sqlite:<path> or sqlite::memory:.`,
      );
    }
    const path = target === ":memory:" ? null : resolve(target);
    if (path !== null) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path ?? ":memory:");
    if (path !== null) db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 10000");
    db.pragma("cache_size = -32768");
    return new SqliteDriver(db, path, url);
  }

  all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return Promise.resolve(this.statement(sql).all(...params) as T[]);
  }

  get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return Promise.resolve(this.statement(sql).get(...params) as T | undefined);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return Promise.resolve(this.statement(sql).run(...params).changes);
  }

  exec(script: string): Promise<void> {
    this.db.exec(script);
    return Promise.resolve();
  }

  async *stream<T extends object>(
    sql: string,
    params: readonly SqlValue[],
    pageSize = 5000,
  ): AsyncIterable<T[]> {
    if (this.path === null) {
      // One connection only: materialize (the whole database is in memory anyway).
      const rows = await this.all<T>(sql, params);
      for (let i = 0; i < rows.length; i += pageSize) yield rows.slice(i, i + pageSize);
      return;
    }
    const reader = new Database(this.path, { readonly: true, fileMustExist: true });
    try {
      reader.pragma("busy_timeout = 10000");
      // Rows as arrays, made objects here: better-sqlite3 builds each object property by
      // property in native code, about a third slower over a million rows.
      const statement = reader.prepare<SqlValue[], SqlValue[]>(sql).raw(true);
      const names = statement.columns().map((c) => c.name);
      let page: T[] = [];
      for (const values of statement.iterate(...params)) {
        const row: Record<string, SqlValue> = {};
        for (let i = 0; i < names.length; i++) row[names[i]!] = values[i]!;
        page.push(row as T);
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    } finally {
      reader.close();
    }
  }

  async copyRows(table: string, columns: readonly string[], rows: RowSource): Promise<number> {
    const insert = this.statement(
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
    );
    const load = async (): Promise<number> => {
      let count = 0;
      for await (const batch of batchesOf(rows)) {
        for (const row of batch) insert.run(...row);
        count += batch.length;
      }
      return count;
    };
    return this.inTransaction ? load() : this.transaction(load);
  }

  async lockConnector(connector: string): Promise<() => Promise<void>> {
    if (this.path === null) return () => Promise.resolve();
    const path = `${this.path}.${encodeURIComponent(connector)}.lock`;
    const lock = await acquireFileLock(path, "synchronize", (holder) =>
      connectorBusy(connector, holder?.pid === undefined ? "another process" : `process ${holder.pid}`),
    );
    return () => lock.release();
  }

  analyze(_tables: readonly string[]): Promise<void> {
    return Promise.resolve();
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) throw new Error("SqliteDriver.transaction cannot be nested");
    this.inTransaction = true;
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = await fn();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  close(): Promise<void> {
    this.statements.clear();
    this.db.close();
    return Promise.resolve();
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
      statement = this.db.prepare<SqlValue[], unknown>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
