/**
 * PostgreSQL dialect, on `pg`. URL: `postgres://` or `postgresql://`; the query parameter
 * `schema=<name>` selects (and creates) a schema, which is how tests get a database of their own.
 * Bulk paths use COPY (pg-copy-streams): `COPY … FROM STDIN` to write, and `stream` reads
 * through `COPY (query) TO STDOUT` on a second connection, a page of rows at a time, so memory
 * stays at one page whatever the table's size.
 *
 * A lost connection (a restarted or failed-over server, an administrator's
 * `pg_terminate_backend`, a network cut) is made again at the next statement, after a backoff
 * while connecting fails. What lived in the lost session cannot be: a transaction under way
 * fails, and while a connector lock taken on it is not released, every statement fails too,
 * since the lock went with the session and its holder must not go on as if it held it.
 * Failures for want of a connection are `DATABASE_UNAVAILABLE`.
 */
import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { SyncupError } from "../../errors.js";
import {
  batchesOf,
  connectorBusy,
  type Driver,
  type RowSource,
  type SqlValue,
  type TransactionOptions,
} from "../driver.js";

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** BIGINT (ids, counts) as numbers: ids and counts stay far below 2^53. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as "text") as (value: string) => unknown;
  }) as pg.CustomTypesConfig["getTypeParser"],
};

interface Target {
  connectionString: string;
  schema: string | null;
  label: string;
}

/** Backoff between two attempts to connect again: doubles from the first to the last. */
const RECONNECT_BACKOFF_MS = { first: 200, last: 5000 } as const;

export class PostgresDriver implements Driver {
  readonly dialect = "postgres";
  private readonly texts = new Map<string, string>();
  private inTransaction = false;
  /** The session's connection; null from its loss until a statement connects again. */
  private client: pg.Client | null;
  /** Why the last session was lost. */
  private lostBy: unknown = null;
  /** Connector locks taken on the current session and not yet released. */
  private locksHeld = 0;
  private connecting: Promise<pg.Client> | null = null;
  /** After a failed attempt to connect: no other before this time, and the failure to report meanwhile. */
  private backoff: { until: number; delay: number; error: unknown } | null = null;
  private closed = false;

  private constructor(
    client: pg.Client,
    private readonly target: Target,
  ) {
    this.client = this.adopt(client);
  }

  get label(): string {
    return this.target.label;
  }

  /** Connects to `postgres://…[?schema=name]`, creating the schema when it is missing. */
  static async open(url: string): Promise<PostgresDriver> {
    const target = parseUrl(url);
    const client = await connect(target);
    return new PostgresDriver(client, target);
  }

  async all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.query((c) => c.query<T & pg.QueryResultRow>(this.text(sql), [...params]));
    return result.rows;
  }

  async get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const result = await this.query((c) => c.query(this.text(sql), [...params]));
    return result.rowCount ?? 0;
  }

  /**
   * The advisory lock's key is the connector's name, within the URL's schema when it names one:
   * advisory locks are the database's, and repositories in two schemas of one database are
   * two deployments whose connectors share names.
   */
  async lockConnector(connector: string): Promise<() => Promise<void>> {
    const key =
      this.target.schema === null ? `syncup:${connector}` : `syncup:${this.target.schema}:${connector}`;
    let session: pg.Client | undefined;
    const row = await this.query(async (client) => {
      session = client;
      const result = await client.query<{ ok: boolean }>(
        this.text("SELECT pg_try_advisory_lock(hashtextextended(?, 0)) AS ok"),
        [key],
      );
      return result.rows[0];
    });
    if (row?.ok !== true) throw connectorBusy(connector, "another session of this database");
    // Taken on a session lost since: the lock went with it.
    if (session !== this.client) throw unavailable(this.target, this.lostBy);
    this.locksHeld++;
    return async () => {
      this.locksHeld--;
      // A session lost (before or during the unlock) took its locks along: released all the same.
      if (session !== this.client) return;
      await this.run("SELECT pg_advisory_unlock(hashtextextended(?, 0))", [key]).catch((error: unknown) => {
        if (session === this.client) throw error;
      });
    };
  }

  async exec(script: string): Promise<void> {
    await this.query((c) => c.query(script));
  }

  /**
   * Streams a query's rows through `COPY (query) TO STDOUT`, on a second connection in a
   * read-only snapshot. At 1M rows this reads about 2.5 times faster than pages of a cursor,
   * whose rows the client decodes message by message. Each column is parsed as a query's would
   * be, by its type (described first); the parameters are written into the statement as
   * literals, since COPY takes none.
   */
  async *stream<T extends object>(
    sql: string,
    params: readonly SqlValue[],
    pageSize = 5000,
  ): AsyncIterable<T[]> {
    const reader = await connect(this.target);
    let copy: Readable | undefined;
    let finished = false;
    try {
      await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const { fields } = await reader.query(`SELECT * FROM (${this.text(sql)}) AS q LIMIT 0`, [...params]);
      const names = fields.map((f) => f.name);
      const parsers = fields.map(
        (f) => types.getTypeParser(f.dataTypeID, "text") as (text: string) => unknown,
      );
      let n = 0;
      const inlined = sql.replace(/\?/g, () => literal(reader, params[n++]));
      copy = reader.query(copyTo(`COPY (${inlined}) TO STDOUT`));
      const decoder = new StringDecoder("utf8");
      let rest = "";
      let page: T[] = [];
      for await (const chunk of copy as AsyncIterable<Buffer>) {
        const text = rest + decoder.write(chunk);
        const end = text.lastIndexOf("\n");
        rest = text.slice(end + 1);
        for (let start = 0; start < end;) {
          const newline = text.indexOf("\n", start);
          const cells = text.slice(start, newline).split("\t");
          start = newline + 1;
          const row: Record<string, unknown> = {};
          for (let i = 0; i < names.length; i++) {
            const cell = cells[i]!;
            row[names[i]!] = cell === "\\N" ? null : parsers[i]!(unescapeCopy(cell));
          }
          page.push(row as T);
          if (page.length >= pageSize) {
            yield page;
            page = [];
          }
        }
      }
      if (rest + decoder.end() !== "") throw new Error("COPY TO ended in the middle of a row");
      if (page.length > 0) yield page;
      finished = true;
      await reader.query("COMMIT");
    } finally {
      // A caller that stops early leaves the COPY running: close the connection under it.
      if (finished) await reader.end();
      else {
        copy?.destroy();
        await endAbruptly(reader);
      }
    }
  }

  async copyRows(table: string, columns: readonly string[], rows: RowSource): Promise<number> {
    return this.query(async (c) => {
      const copy = c.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN`));
      await pipeline(Readable.from(copyText(rows), { objectMode: false }), copy);
      return copy.rowCount;
    });
  }

  async analyze(tables: readonly string[]): Promise<void> {
    if (tables.length > 0) await this.exec(`ANALYZE ${tables.join(", ")}`);
  }

  async transaction<T>(fn: () => Promise<T>, options?: TransactionOptions): Promise<T> {
    if (this.inTransaction) throw new Error("PostgresDriver.transaction cannot be nested");
    // Connected again if need be before the transaction: not within it.
    await this.session();
    this.inTransaction = true;
    try {
      await this.exec("BEGIN");
      // A bulk load joins and sorts millions of rows, and builds the indexes it deferred: in
      // memory rather than in batches spilled to disk (at 1M resources, the join that resolves
      // 1.5M links took 7.0 s with the defaults, 4.1–5.9 s with these). For this transaction only.
      if (options?.bulk === true) {
        await this.exec("SET LOCAL work_mem = '256MB'");
        await this.exec("SET LOCAL maintenance_work_mem = '512MB'");
      }
      const result = await fn();
      await this.exec("COMMIT");
      return result;
    } catch (error) {
      await this.exec("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      this.inTransaction = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end();
  }

  /**
   * Runs `fn` on the session's connection. A failure that lost the connection is
   * `DATABASE_UNAVAILABLE`, and the next statement connects again.
   */
  private async query<R>(fn: (client: pg.Client) => Promise<R>): Promise<R> {
    const client = await this.session();
    try {
      return await fn(client);
    } catch (error) {
      if (this.client === client && !isConnectionLoss(error)) throw error;
      this.lose(client, error);
      throw unavailable(this.target, error);
    }
  }

  /** The session's connection, connected again if it was lost and nothing of the lost session is still in use. */
  private async session(): Promise<pg.Client> {
    if (this.client !== null) return this.client;
    if (this.closed) throw new Error(`The connection to PostgreSQL at ${this.target.label} is closed.`);
    if (this.inTransaction || this.locksHeld > 0) throw unavailable(this.target, this.lostBy);
    this.connecting ??= this.reconnect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async reconnect(): Promise<pg.Client> {
    const now = Date.now();
    if (this.backoff !== null && now < this.backoff.until) throw unavailable(this.target, this.backoff.error);
    try {
      const client = await connect(this.target);
      if (this.closed) {
        await client.end();
        throw new Error(`The connection to PostgreSQL at ${this.target.label} is closed.`);
      }
      this.backoff = null;
      return (this.client = this.adopt(client));
    } catch (error) {
      const delay = Math.min(
        RECONNECT_BACKOFF_MS.last,
        this.backoff === null ? RECONNECT_BACKOFF_MS.first : this.backoff.delay * 2,
      );
      this.backoff = { until: Date.now() + delay, delay, error };
      throw error;
    }
  }

  /** Takes `client` as the session's connection, to be dropped as soon as it fails. */
  private adopt(client: pg.Client): pg.Client {
    client.on("error", (error) => this.lose(client, error));
    client.on("end", () => this.lose(client, new Error("Connection terminated")));
    return client;
  }

  /** The session of `client` is gone (if it still is the current one): the next statement connects again. */
  private lose(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    this.lostBy = error;
    void client.end().catch(() => undefined);
  }

  /** `?` placeholders become `$1`, `$2`…; the repositories' SQL has no `?` elsewhere. */
  private text(sql: string): string {
    let text = this.texts.get(sql);
    if (text === undefined) {
      let n = 0;
      text = sql.replace(/\?/g, () => `$${++n}`);
      if (this.texts.size > 1024) this.texts.clear();
      this.texts.set(sql, text);
    }
    return text;
  }
}

function parseUrl(url: string): Target {
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

async function connect(target: Target): Promise<pg.Client> {
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
function isConnectionLoss(error: unknown): boolean {
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
function unavailable(target: Target, cause: unknown): SyncupError {
  if (cause instanceof SyncupError && cause.code === "DATABASE_UNAVAILABLE") return cause;
  const reason = cause instanceof Error ? `: ${cause.message}` : "";
  return new SyncupError(
    "DATABASE_UNAVAILABLE",
    `The connection to PostgreSQL at ${target.label} was lost${reason}. It is made again at the next statement; what ran in the lost session (a transaction, a connector's lock) did not survive it.`,
    { cause },
  );
}

const COPY_CHUNK = 1 << 16;

/**
 * Rows in COPY's text format, encoded a row at a time into chunks of about 64 KiB: strings
 * concatenated into a chunk and encoded on the way to the socket left much garbage behind (at
 * 1M resources, 3 s more of garbage collection).
 */
async function* copyText(rows: RowSource): AsyncGenerator<Buffer> {
  let chunk = Buffer.allocUnsafe(COPY_CHUNK);
  let at = 0;
  for await (const batch of batchesOf(rows)) {
    for (const row of batch) {
      let line = "";
      for (let i = 0; i < row.length; i++) {
        if (i > 0) line += "\t";
        const value = row[i];
        line +=
          value === null || value === undefined
            ? "\\N"
            : typeof value === "number"
              ? String(value)
              : escapeCopy(String(value));
      }
      line += "\n";
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (at + line.length * 3 > chunk.length) {
        if (at > 0) yield chunk.subarray(0, at);
        chunk = Buffer.allocUnsafe(Math.max(COPY_CHUNK, line.length * 3));
        at = 0;
      }
      at += chunk.write(line, at);
    }
  }
  if (at > 0) yield chunk.subarray(0, at);
}

const COPY_ESCAPES: Readonly<Record<string, string>> = {
  n: "\n",
  t: "\t",
  r: "\r",
  b: "\b",
  f: "\f",
  v: "\v",
};

/** A cell of COPY's text format as its value's text (COPY TO writes no octal or hex escapes). */
function unescapeCopy(cell: string): string {
  return cell.includes("\\") ? cell.replace(/\\(.)/gs, (_, c: string) => COPY_ESCAPES[c] ?? c) : cell;
}

/** A parameter as an SQL literal, for the statements that take none (COPY). */
function literal(client: pg.Client, value: SqlValue | undefined): string {
  if (value === undefined) throw new Error("fewer parameters than placeholders");
  if (value === null) return "NULL";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`${value} is not a number SQL can hold`);
    return `(${value})`;
  }
  return client.escapeLiteral(value);
}

/** Closes a connection that is busy (a COPY TO nobody reads any more) without waiting for it. */
async function endAbruptly(client: pg.Client): Promise<void> {
  const ended = client.end().catch(() => undefined);
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  await ended;
}

function escapeCopy(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) =>
        c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
      )
    : text;
}
