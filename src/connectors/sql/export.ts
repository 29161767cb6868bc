/**
 * The SQL export: each configured query streamed into `<connection>_<table>.csv`, columns
 * named by the result, values as text (./values.ts). All queries of a connection read one
 * snapshot (one read-only transaction). SQL exports are always complete, in incremental mode
 * too: prepare computes the changes against previous/.
 */
import { SyncupError } from "../../errors.js";
import type { NativeExportContext, NativeExportResult } from "../native.js";
import { describeError, tlsError, unreachableError } from "../../support/failures.js";
import { withRetries } from "../../support/retry.js";
import { readSecret, readSettingFile } from "../../support/secret.js";
import { TableWriters } from "../shared/table-writers.js";
import { classifyMysql, openMysql } from "./mysql.js";
import { classifyPostgres, openPostgres } from "./postgres.js";
import type { SqlSettings } from "./schema.js";
import type { SqlFailureKind, SqlSession } from "./session.js";
import { classifySqlite, openSqlite } from "./sqlite.js";
import { parseSqlUrl, type ServerUrl, type SqliteUrl } from "./url.js";
import { duplicateColumns } from "./values.js";

const KIND_NAMES = { postgres: "PostgreSQL", mysql: "MySQL/MariaDB", sqlite: "SQLite" } as const;

/** A failure of one table's query, kept apart from connection failures for the message. */
class QueryFailure extends Error {
  constructor(
    readonly table: string,
    override readonly cause: unknown,
  ) {
    super(describeError(cause));
  }
}

export async function sqlExport(
  settings: SqlSettings,
  ctx: NativeExportContext,
): Promise<NativeExportResult> {
  const label = `SQL connection "${ctx.connection}"`;
  const url = parseSqlUrl(settings.url);
  const password = await readSecret(
    { env: settings.passwordEnv, file: settings.passwordFile },
    ctx.env,
    `${label}: the database password`,
  );
  const ca =
    settings.tls?.caFile === undefined
      ? undefined
      : await readSettingFile(settings.tls.caFile, `${label}: tls.caFile`);
  const tls =
    settings.tls === undefined ? undefined : { ca, rejectUnauthorized: settings.tls.rejectUnauthorized };
  const timeoutMs = Math.round(settings.timeoutSeconds * 1000);
  const open = (): Promise<SqlSession> => {
    const common = { password, tls, timeoutMs, fetchSize: settings.fetchSize };
    if (url.kind === "sqlite") {
      return Promise.resolve().then(() =>
        openSqlite({ path: url.path, timeoutMs, fetchSize: settings.fetchSize }),
      );
    }
    return url.kind === "postgres" ? openPostgres({ url, ...common }) : openMysql({ url, ...common });
  };
  const classify = (error: unknown): SqlFailureKind => {
    const inner = error instanceof QueryFailure ? error.cause : error;
    return url.kind === "postgres"
      ? classifyPostgres(inner)
      : url.kind === "mysql"
        ? classifyMysql(inner)
        : classifySqlite(inner);
  };
  if (ctx.mode === "incremental") {
    ctx.log?.(
      `${label}: SQL exports are complete; prepare computes the changes against the previous export.`,
    );
  }
  let attempts = 0;
  try {
    const tables = await withRetries(
      async (attempt) => {
        attempts = attempt;
        return await exportOnce(settings, ctx, open);
      },
      {
        retries: settings.retries,
        isTransient: (error) => {
          const kind = classify(error);
          // A missing SQLite file does not come back by waiting.
          return kind === "transient" || (kind === "unreachable" && url.kind !== "sqlite");
        },
        onRetry: (error, attempt, delay) =>
          ctx.log?.(
            `${label}: attempt ${attempt} failed (${describeError(error)}); retrying in ${Math.round(delay / 100) / 10} s`,
          ),
      },
    );
    return { tables };
  } catch (error) {
    throw sqlFailure(error, classify(error), { label, url, settings, attempts });
  }
}

async function exportOnce(
  settings: SqlSettings,
  ctx: NativeExportContext,
  open: () => Promise<SqlSession>,
): Promise<Record<string, number>> {
  const session = await open();
  const writers = new TableWriters(ctx.outputDir, ctx.connection);
  try {
    for (const [table, { query }] of Object.entries(settings.tables)) {
      const progress = `${ctx.connection}_${table}`;
      try {
        const result = await session.query(query);
        const twice = duplicateColumns(result.columns);
        if (twice.length > 0) {
          throw new SyncupError(
            "CONFIG_INVALID",
            `SQL connection "${ctx.connection}": the query of table "${table}" returns the column${twice.length > 1 ? "s" : ""} ${twice.map((c) => `"${c}"`).join(", ")} more than once. Give each column its own name (… AS name).`,
          );
        }
        await writers.open(table, result.columns);
        for await (const batch of result.rows) {
          for (const row of batch) await writers.write(table, row);
          ctx.onProgress?.(progress, writers.rows(table), 0);
        }
      } catch (error) {
        throw error instanceof SyncupError ? error : new QueryFailure(table, error);
      }
    }
    return await writers.commit();
  } catch (error) {
    await writers.abort();
    throw error;
  } finally {
    await session.close();
  }
}

function sqlFailure(
  error: unknown,
  kind: SqlFailureKind,
  context: { label: string; url: ServerUrl | SqliteUrl; settings: SqlSettings; attempts: number },
): unknown {
  if (error instanceof SyncupError) return error;
  const { label, url, settings } = context;
  const database = `the ${KIND_NAMES[url.kind]} database ${url.display}`;
  const cause = error instanceof QueryFailure ? error.cause : error;
  if (url.kind === "sqlite" && kind === "unreachable") {
    return new SyncupError(
      "CONNECTOR_UNREACHABLE",
      `${label}: cannot open the SQLite file "${url.path}" (${describeError(cause)}): check the path (relative paths are relative to the configuration file) and its permissions.`,
      { cause },
    );
  }
  switch (kind) {
    case "auth": {
      const user = url.kind === "sqlite" ? "" : ` as "${url.user ?? "(default user)"}"`;
      const source =
        settings.passwordEnv !== undefined
          ? `$${settings.passwordEnv}`
          : settings.passwordFile !== undefined
            ? `"${settings.passwordFile}"`
            : "the password (none is set: add passwordEnv or passwordFile)";
      return new SyncupError(
        "CONNECTOR_AUTH_FAILED",
        `${label}: ${database} refused the login${user} (${describeError(cause)}). Check the user in the URL and ${source}, and that this user may connect from this host.`,
        { cause },
      );
    }
    case "database":
      return new SyncupError(
        "CONNECTOR_REQUEST_FAILED",
        `${label}: ${database} does not exist (${describeError(cause)}): check the database name in the URL.`,
        { cause },
      );
    case "tls":
      return tlsError(
        label,
        url.display,
        cause,
        "Check tls.caFile (the CA that signed the server's certificate), that the host name is the certificate's, and that the server accepts TLS.",
      );
    case "unreachable":
    case "transient":
      if (error instanceof QueryFailure && kind === "transient") break;
      return unreachableError(label, `${database}`, cause, context.attempts);
    default:
      break;
  }
  if (error instanceof QueryFailure) {
    return new SyncupError(
      "CONNECTOR_REQUEST_FAILED",
      `${label}: the query of table "${error.table}" failed on ${database}: ${describeError(cause)}. Check tables.${error.table}.query.`,
      { cause },
    );
  }
  return new SyncupError(
    "CONNECTOR_REQUEST_FAILED",
    `${label}: ${database} failed: ${describeError(cause)}.`,
    { cause },
  );
}
