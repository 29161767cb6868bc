/**
 * MySQL and MariaDB (mysql2): one connection in a consistent-snapshot READ ONLY transaction,
 * the session in UTC; each query streamed (`fetchSize` rows buffered at most), values with
 * dateStrings / bigNumberStrings / jsonStrings converted by ./values.ts.
 */
import mysql from "mysql2";
import type { Connection, FieldPacket } from "mysql2";
import { errorCodeOf, isNetworkError, isTlsError } from "../../support/failures.js";
import { bareQuery, type QueryResult, type SqlFailureKind, type SqlSession } from "./session.js";
import type { ServerUrl } from "./url.js";
import { mysqlText, type MysqlColumn } from "./values.js";

export interface MysqlOptions {
  readonly url: ServerUrl;
  readonly password: string | undefined;
  readonly tls: { readonly ca: string | undefined; readonly rejectUnauthorized: boolean } | undefined;
  readonly timeoutMs: number;
  readonly fetchSize: number;
}

function run(connection: Connection, sql: string): Promise<void> {
  return new Promise((resolve, reject) =>
    connection.query(sql, (error) => (error ? reject(error) : resolve())),
  );
}

export async function openMysql(options: MysqlOptions): Promise<SqlSession> {
  const { url } = options;
  const password = options.password ?? url.password;
  const connection = mysql.createConnection({
    host: url.host,
    port: url.port,
    database: url.database,
    ...(url.user === undefined ? {} : { user: url.user }),
    ...(password === undefined ? {} : { password }),
    ...(options.tls === undefined
      ? {}
      : {
          ssl: {
            rejectUnauthorized: options.tls.rejectUnauthorized,
            ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
          },
        }),
    connectTimeout: options.timeoutMs,
    charset: "utf8mb4",
    timezone: "Z",
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    jsonStrings: true,
  });
  // Errors after connecting surface in the running query; keep the process alive.
  connection.on("error", () => undefined);
  try {
    await new Promise<void>((resolve, reject) =>
      connection.connect((error) => (error ? reject(error) : resolve())),
    );
    await run(connection, "SET time_zone = '+00:00'");
    await run(connection, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    await run(connection, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
  } catch (error) {
    connection.destroy();
    throw error;
  }
  return {
    async query(sql: string): Promise<QueryResult> {
      const query = connection.query({ sql: bareQuery(sql), rowsAsArray: true });
      const fields = new Promise<FieldPacket[] | undefined>((resolve, reject) => {
        query.once("fields", (f: FieldPacket[]) => resolve(f));
        query.once("error", reject);
        query.once("end", () => resolve(undefined));
      });
      const stream = query.stream({ highWaterMark: options.fetchSize });
      // The query's failure is reported through `fields` or the iteration below, not as an unhandled event.
      stream.on("error", () => undefined);
      const columns = await fields;
      if (columns === undefined) {
        stream.destroy();
        throw Object.assign(new Error("the statement returned no result set (use a SELECT)"), {
          code: "NO_RESULT_SET",
        });
      }
      const meta: MysqlColumn[] = columns.map((f) => ({
        type: f.columnType ?? f.type ?? 0,
        length: f.columnLength ?? f.length ?? 0,
      }));
      const timeoutMs = options.timeoutMs;
      async function* rows(): AsyncGenerator<string[][]> {
        const iterator = (stream as AsyncIterable<unknown[]>)[Symbol.asyncIterator]();
        let batch: string[][] = [];
        for (;;) {
          const next = await withTimeout(iterator.next(), timeoutMs, () => connection.destroy());
          if (next.done === true) break;
          const row = next.value;
          batch.push(meta.map((m, i) => mysqlText(m, row[i])));
          if (batch.length >= options.fetchSize) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length > 0) yield batch;
      }
      return { columns: columns.map((f) => f.name), rows: rows() };
    },
    async close() {
      await run(connection, "ROLLBACK").catch(() => undefined);
      await new Promise<void>((resolve) => connection.end(() => resolve()));
    },
  };
}

/** Waits for `promise` at most `ms`; on timeout calls `onTimeout` and fails with a timeout error. */
function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(
        Object.assign(new Error(`no rows for ${Math.round(ms / 1000)} s: timed out`), { code: "ETIMEDOUT" }),
      );
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const AUTH_CODES = new Set([
  "ER_ACCESS_DENIED_ERROR",
  "ER_DBACCESS_DENIED_ERROR",
  "ER_ACCESS_DENIED_NO_PASSWORD_ERROR",
  "ER_NOT_SUPPORTED_AUTH_MODE",
]);
const TRANSIENT_CODES = new Set([
  "PROTOCOL_CONNECTION_LOST",
  "ER_CON_COUNT_ERROR",
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_SERVER_SHUTDOWN",
  "ER_QUERY_INTERRUPTED",
]);

export function classifyMysql(error: unknown): SqlFailureKind {
  const code = errorCodeOf(error) ?? "";
  if (AUTH_CODES.has(code)) return "auth";
  if (code === "ER_BAD_DB_ERROR") return "database";
  if (isTlsError(error) || code === "HANDSHAKE_SSL_ERROR" || code === "HANDSHAKE_NO_SSL_SUPPORT")
    return "tls";
  if (TRANSIENT_CODES.has(code)) return "transient";
  if (isNetworkError(error)) return "unreachable";
  return "query";
}
