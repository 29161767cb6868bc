/**
 * SQLite (better-sqlite3): the file opened read-only, one read transaction; each query
 * iterated (`fetchSize` rows per batch), integers read as bigint so that none loses digits.
 */
import Database from "better-sqlite3";
import { errorCodeOf } from "../../support/failures.js";
import { bareQuery, type QueryResult, type SqlFailureKind, type SqlSession } from "./session.js";
import { sqliteText } from "./values.js";

export function openSqlite(options: { path: string; timeoutMs: number; fetchSize: number }): SqlSession {
  const db = new Database(options.path, { readonly: true, fileMustExist: true, timeout: options.timeoutMs });
  try {
    db.exec("BEGIN");
  } catch (error) {
    db.close();
    throw error;
  }
  return {
    query(sql: string): Promise<QueryResult> {
      const statement = db.prepare(bareQuery(sql));
      if (!statement.reader) {
        return Promise.reject(
          Object.assign(new Error("the statement returns no rows (use a SELECT)"), { code: "NO_RESULT_SET" }),
        );
      }
      statement.raw(true).safeIntegers(true);
      const columns = statement.columns().map((c) => c.name);
      function* rows(): Generator<string[][]> {
        let batch: string[][] = [];
        for (const row of statement.iterate() as IterableIterator<unknown[]>) {
          batch.push(row.map(sqliteText));
          if (batch.length >= options.fetchSize) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length > 0) yield batch;
      }
      return Promise.resolve({ columns, rows: rows() });
    },
    close() {
      try {
        if (db.inTransaction) db.exec("COMMIT");
      } finally {
        db.close();
      }
      return Promise.resolve();
    },
  };
}

export function classifySqlite(error: unknown): SqlFailureKind {
  const code = errorCodeOf(error) ?? "";
  if (code === "SQLITE_CANTOPEN" || code === "SQLITE_NOTADB") return "unreachable";
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") return "transient";
  return "query";
}
