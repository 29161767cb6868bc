/** What the SQL export needs of a database, whatever its kind. */

export interface QueryResult {
  /** The result's column names, in order. */
  readonly columns: readonly string[];
  /** The rows as text (see ./values.ts), in batches (SQLite reads synchronously). */
  readonly rows: AsyncIterable<string[][]> | Iterable<string[][]>;
}

/** One connection, inside one read-only transaction, so that every table reads one snapshot. */
export interface SqlSession {
  /** Runs a query; its rows must be read before the next query. */
  query(sql: string): Promise<QueryResult>;
  close(): Promise<void>;
}

/** How errors of a kind of database are read. */
export type SqlFailureKind = "auth" | "unreachable" | "tls" | "transient" | "database" | "query";

/** A query's text without the trailing semicolons a cursor or prepared statement refuses. */
export function bareQuery(sql: string): string {
  return sql
    .trim()
    .replace(/;+\s*$/, "")
    .trim();
}
