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
import {
  batchesOf,
  connectorBusy,
  type Driver,
  type RowSource,
  type SqlValue,
  type TransactionOptions,
} from "../driver.js";

type Statement = Database.Statement<SqlValue[], unknown>;

const STATEMENT_CACHE_LIMIT = 256;
const BUSY_TIMEOUT_MS = 10_000;
/** Past a checkpoint, the WAL file is cut back to this size instead of keeping its largest. */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024;
/** Page cache of a `stream`'s read-only connection, in KiB. */
const READER_CACHE_KIB = 4096;

export class SqliteDriver implements Driver {
  readonly dialect = "sqlite";
  private readonly statements = new Map<string, Statement>();
  private inTransaction = false;
  /** A bulk transaction's rollback journal could not be switched back to WAL yet. */
  private walPending = false;

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
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
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
    this.restoreWal();
    const reader = new Database(this.path, { readonly: true, fileMustExist: true });
    try {
      reader.pragma("busy_timeout = 10000");
      // A stream reads its rows once, in index order: SQLite's default page cache (16 MB) would
      // fill with pages read once, beside the writer's own cache.
      reader.pragma(`cache_size = -${READER_CACHE_KIB}`);
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

  async transaction<T>(fn: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.inTransaction) throw new Error("SqliteDriver.transaction cannot be nested");
    this.restoreWal();
    const bulk = options.bulk === true && this.rollbackJournal();
    this.inTransaction = true;
    try {
      this.db.exec("BEGIN IMMEDIATE");
      const result = await fn();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw error;
    } finally {
      this.inTransaction = false;
      if (bulk) {
        this.db.pragma("synchronous = NORMAL");
        this.walPending = true;
        try {
          this.restoreWal();
        } catch {
          // A reader of another process is in the way: the next transaction or stream retries,
          // and fails clearly if it still cannot (the commit above stands either way).
        }
      }
    }
  }

  /**
   * For a bulk transaction: a rollback journal instead of the WAL, when no other connection
   * has the file open (switching needs the file to itself: tried without waiting). Pages past
   * the file's end are then written once, and not journaled. Durability as in WAL mode asks
   * for synchronous FULL with a rollback journal. Returns whether it switched.
   */
  private rollbackJournal(): boolean {
    if (this.path === null) return false;
    this.db.pragma("busy_timeout = 0");
    try {
      if (this.db.pragma("journal_mode = DELETE", { simple: true }) !== "delete") return false;
    } catch {
      return false; // SQLITE_BUSY: another connection has the database open; keep the WAL
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    this.db.pragma("synchronous = FULL");
    return true;
  }

  /**
   * Back to the WAL after a bulk transaction. Readers streaming beside the writer (complete
   * mode) need it: with a rollback journal, a commit waits for every reader to finish.
   */
  private restoreWal(): void {
    if (!this.walPending) return;
    if (this.db.pragma("journal_mode = WAL", { simple: true }) !== "wal") {
      throw new SyncupError(
        "DATABASE_BUSY",
        `${this.label}: could not switch the database back to WAL mode after an initial load; another process holds it. Close other programs using the file and retry.`,
      );
    }
    this.walPending = false;
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
