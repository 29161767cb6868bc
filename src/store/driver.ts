/**
 * The one interface a database dialect implements (`sqlite/driver.ts`, `postgres/driver.ts`).
 * Repositories write plain SQL with `?` placeholders; the PostgreSQL driver numbers them.
 * Everything above this interface is dialect-free, apart from the few DDL types of the migrations.
 */

import { SyncupError } from "../errors.js";

export type Dialect = "sqlite" | "postgres";

/** A value bound to a placeholder, or read from a column. Booleans are stored as 0/1. */
export type SqlValue = string | number | null;

export interface Driver {
  readonly dialect: Dialect;
  /** The database URL without credentials, for messages. */
  readonly label: string;
  /** Every row of one query. */
  all<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row of one query, or undefined. */
  get<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs one statement; returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Streams the rows of one query in pages, from a connection and snapshot of its own, so
   * that the caller can write meanwhile: a server-side cursor on PostgreSQL, a second
   * (read-only) connection on SQLite. Memory stays at one page. Writes the caller made
   * are visible only once committed.
   */
  stream<T extends object>(sql: string, params: readonly SqlValue[], pageSize?: number): AsyncIterable<T[]>;
  /**
   * Bulk insert path: `COPY … FROM STDIN` on PostgreSQL, one prepared INSERT per row on
   * SQLite. Runs inside the current transaction when there is one.
   */
  copyRows(table: string, columns: readonly string[], rows: RowSource): Promise<number>;
  /**
   * Refreshes the planner's statistics of tables that just grew or shrank in bulk. PostgreSQL
   * needs it (a table loaded in the same transaction looks empty and gets sequential scans);
   * SQLite's planner prefers indexes without statistics, so it does nothing there.
   */
  analyze(tables: readonly string[]): Promise<void>;
  /**
   * Takes the connector's synchronization lock, so that one synchronization of a connector
   * runs at a time across processes: a session advisory lock on PostgreSQL (released if the
   * process dies), a lock file beside the database on SQLite (taken over if its process is
   * gone). Throws CONNECTOR_BUSY when another process holds it. Returns the release.
   */
  lockConnector(connector: string): Promise<() => Promise<void>>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. Not nestable. */
  transaction<T>(fn: () => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /**
   * The transaction writes a large share of the database (an initial load). SQLite then
   * journals it with a rollback journal when no other connection has the file open: pages
   * appended to the file are written once, where the WAL writes every page twice (to the log,
   * then back at the checkpoint). PostgreSQL gives it more memory to sort and join in
   * (`work_mem` 256 MB, `maintenance_work_mem` 512 MB).
   */
  readonly bulk?: boolean;
}

/** Rows for a bulk insert: a plain list, or a stream of batches (a file being read). */
export type RowSource = Iterable<readonly SqlValue[]> | AsyncIterable<readonly (readonly SqlValue[])[]>;

/** The batches of a row source, whichever its kind. */
export async function* batchesOf(rows: RowSource): AsyncIterable<readonly (readonly SqlValue[])[]> {
  if (Symbol.asyncIterator in rows) yield* rows;
  else yield [...rows];
}

/**
 * Empties scratch tables. TRUNCATE on PostgreSQL, where a DELETE writes each row's removal
 * (2M link pairs: about 1 s); SQLite truncates a table that a DELETE without WHERE empties.
 */
export async function emptyTables(db: Driver, tables: readonly string[]): Promise<void> {
  if (db.dialect === "postgres") await db.run(`TRUNCATE ${tables.join(", ")}`);
  else for (const table of tables) await db.run(`DELETE FROM ${table}`);
}

/** `?, ?, ?` for an IN list of `count` values. */
export function placeholders(count: number): string {
  return count === 0 ? "NULL" : Array.from({ length: count }, () => "?").join(", ");
}

/** The error of a connector whose synchronization lock another process holds. */
export function connectorBusy(connector: string, holder: string): SyncupError {
  return new SyncupError(
    "CONNECTOR_BUSY",
    `Connector "${connector}" is being synchronized by ${holder}: one synchronization of a connector runs at a time. Try again once it is done.`,
  );
}
