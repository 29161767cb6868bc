/**
 * PostgreSQL (pg): one connection in a REPEATABLE READ READ ONLY transaction; each query read
 * through a cursor, `fetchSize` rows per FETCH, values in text (`TimeZone=UTC`, `DateStyle=ISO`,
 * `bytea_output=hex`) converted by ./values.ts.
 */
import pg from "pg";
import { errorCodeOf, isNetworkError, isTlsError } from "../../support/failures.js";
import { bareQuery, type QueryResult, type SqlFailureKind, type SqlSession } from "./session.js";
import type { ServerUrl } from "./url.js";
import { postgresText } from "./values.js";

export interface PostgresOptions {
  readonly url: ServerUrl;
  readonly password: string | undefined;
  readonly tls: { readonly ca: string | undefined; readonly rejectUnauthorized: boolean } | undefined;
  readonly timeoutMs: number;
  readonly fetchSize: number;
}

/** Every value as the server's text: ./values.ts converts the few types that need it. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

function ssl(options: PostgresOptions): pg.ClientConfig["ssl"] {
  if (options.tls !== undefined) {
    return {
      rejectUnauthorized: options.tls.rejectUnauthorized,
      ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
    };
  }
  const mode = options.url.params["sslmode"];
  if (mode === "require" || mode === "verify-ca" || mode === "verify-full") {
    return { rejectUnauthorized: mode !== "require" };
  }
  return undefined;
}

export async function openPostgres(options: PostgresOptions): Promise<SqlSession> {
  const { url } = options;
  const password = options.password ?? url.password;
  const client = new pg.Client({
    host: url.host,
    port: url.port,
    database: url.database,
    ...(url.user === undefined ? {} : { user: url.user }),
    ...(password === undefined ? {} : { password }),
    ...(ssl(options) === undefined ? {} : { ssl: ssl(options) }),
    connectionTimeoutMillis: options.timeoutMs,
    query_timeout: options.timeoutMs,
    application_name: "syncup export",
    types: RAW_TEXT,
  });
  // An error after connecting (the server going away) surfaces in the running query; keep the process alive.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query(
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET bytea_output = 'hex'",
    );
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  let cursors = 0;
  return {
    async query(sql: string): Promise<QueryResult> {
      const cursor = `syncup_cursor_${++cursors}`;
      await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${bareQuery(sql)}`);
      const fetch = () =>
        client.query<unknown[]>({
          text: `FETCH FORWARD ${options.fetchSize} FROM ${cursor}`,
          rowMode: "array",
        });
      const first = await fetch();
      const types = first.fields.map((f) => f.dataTypeID);
      const convert = (rows: unknown[][]) =>
        rows.map((row) => row.map((v, i) => postgresText(types[i] ?? 0, typeof v === "string" ? v : null)));
      async function* rows(): AsyncGenerator<string[][]> {
        let page = first;
        while (page.rows.length > 0) {
          yield convert(page.rows);
          if (page.rows.length < options.fetchSize) break;
          page = await fetch();
        }
        await client.query(`CLOSE ${cursor}`);
      }
      return { columns: first.fields.map((f) => f.name), rows: rows() };
    },
    async close() {
      await client.query("ROLLBACK").catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** SQLSTATE classes: 28 (authorization), 3D (no such database), 08 and 57P0x (connection), 40/53 (retry). */
export function classifyPostgres(error: unknown): SqlFailureKind {
  const code = errorCodeOf(error) ?? "";
  if (code === "28P01" || code === "28000") return "auth";
  if (code === "3D000") return "database";
  if (isTlsError(error) || /SSL|TLS|certificate/i.test(error instanceof Error ? error.message : "")) {
    return isNetworkError(error) ? "unreachable" : "tls";
  }
  if (code.startsWith("08") || /^57P0[1-3]$/.test(code) || code === "53300") return "transient";
  if (code === "40001" || code === "40P01" || code.startsWith("53")) return "transient";
  if (/^[0-9A-Z]{5}$/.test(code)) return "query";
  if (isNetworkError(error)) return "unreachable";
  return "query";
}
