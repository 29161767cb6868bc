/**
 * A PostgreSQL session of the driver's: the URL read (its `schema=` parameter), the connection
 * made with syncup's settings (and the schema created), a lost connection told apart from a
 * failed statement, and the error that says the database is unavailable.
 */
import pg from "pg";
import { SyncupError } from "../../errors.js";

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** BIGINT (ids, counts) as numbers: ids and counts stay far below 2^53. */
export const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as "text") as (value: string) => unknown;
  }) as pg.CustomTypesConfig["getTypeParser"],
};

/** A database as the URL names it, and as messages name it (without its password). */
export interface Target {
  connectionString: string;
  schema: string | null;
  label: string;
}

export function parseUrl(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new SyncupError("DATABASE_URL_INVALID", `"${url}" is not a valid PostgreSQL URL.`, {
      cause: error,
    });
  }
  const schema = parsed.searchParams.get("schema");
  parsed.searchParams.delete("schema");
  if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new SyncupError(
      "DATABASE_URL_INVALID",
      `schema "${schema}" in the database URL is not a plain identifier (letters, digits, "_").`,
    );
  }
  const label = new URL(parsed.toString());
  label.password = "";
  return {
    connectionString: parsed.toString(),
    schema,
    label: `${label.toString()}${schema === null ? "" : ` (schema ${schema})`}`,
  };
}

/**
 * A connection attempt gives up after `connectionTimeoutMillis`; TCP keepalives tell a
 * connection whose server vanished without closing it (a host gone, a network cut) from an
 * idle one. `application_name` names syncup's sessions in `pg_stat_activity` unless the URL does.
 */
const CONNECTION_OPTIONS = {
  application_name: "syncup",
  connectionTimeoutMillis: 10_000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 30_000,
} as const;

export async function connect(target: Target): Promise<pg.Client> {
  const client = new pg.Client({ ...CONNECTION_OPTIONS, connectionString: target.connectionString, types });
  try {
    await client.connect();
    // An initial load's scratch tables are temporary tables: let them stay in memory rather than
    // spill past the default 8 MB. A cap of this session's, taken only as temporary tables grow.
    // Staging and applying read a few rows of large tables (the repository, the journal of
    // every batch): plan them for index lookups rather than scans, which the default cost of a
    // random read (4, for uncached disks) prefers. An engine without these settings keeps its own.
    await client.query("SET temp_buffers = '256MB'").catch(() => undefined);
    await client.query("SET random_page_cost = 1.1").catch(() => undefined);
    if (target.schema !== null) {
      await createSchema(client, target.schema);
      await client.query(`SET search_path TO "${target.schema}"`);
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new SyncupError(
      "DATABASE_UNAVAILABLE",
      `Cannot connect to PostgreSQL at ${target.label}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  // An idle connection's error (server restart) must not crash the process; the next query fails instead.
  client.on("error", () => undefined);
  return client;
}

/**
 * `CREATE SCHEMA IF NOT EXISTS`, which is not safe against itself: of two sessions creating the
 * same schema at once, one fails on the catalogue's unique index. The schema exists either way.
 */
async function createSchema(client: pg.Client, schema: string): Promise<void> {
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== UNIQUE_VIOLATION && code !== DUPLICATE_SCHEMA) throw error;
  }
}

const UNIQUE_VIOLATION = "23505";
const DUPLICATE_SCHEMA = "42P06";

/**
 * Whether a failed statement lost its connection: a connection exception (SQLSTATE class 08),
 * the server shutting down or terminating the session (57P01–57P03), or the socket closed
 * under the client.
 */
export function isConnectionLoss(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string" && /^(08|57P0[123]$)/.test(code)) return true;
  if (typeof code === "string" && /^E(CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH)$/.test(code))
    return true;
  return (
    typeof message === "string" &&
    /^(Connection terminated|Client has encountered a connection error)/.test(message)
  );
}

/** The error of a statement that found no connection, or lost it. */
export function unavailable(target: Target, cause: unknown): SyncupError {
  if (cause instanceof SyncupError && cause.code === "DATABASE_UNAVAILABLE") return cause;
  const reason = cause instanceof Error ? `: ${cause.message}` : "";
  return new SyncupError(
    "DATABASE_UNAVAILABLE",
    `The connection to PostgreSQL at ${target.label} was lost${reason}. It is made again at the next statement; what ran in the lost session (a transaction, a connector's lock) did not survive it.`,
    { cause },
  );
}

/** Closes a connection that is busy (a COPY TO nobody reads any more) without waiting for it. */
export async function endAbruptly(client: pg.Client): Promise<void> {
  const ended = client.end().catch(() => undefined);
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  await ended;
}
