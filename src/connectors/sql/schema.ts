/** The settings of a SQL connection (`type: sql`): PostgreSQL, MySQL / MariaDB or SQLite queries. */
import { z } from "zod";
import type { NativeConnection } from "../native.js";
import {
  absoluteFiles,
  checkSecretSources,
  retries,
  tableName,
  timeoutSeconds,
} from "../shared/schema-parts.js";
import { resolveSqliteUrl } from "./url.js";

export const sqlConnectionSchema = z
  .strictObject({
    type: z.literal("sql"),
    /**
     * `postgres://user@host[:port]/database`, `mysql://…` or `mariadb://…` (the password from
     * passwordEnv/passwordFile), or `sqlite:<path>` (relative to the configuration file).
     */
    url: z
      .string()
      .regex(
        /^(postgres(ql)?|mysql|mariadb):\/\/[^/\s]+\/[^\s]+$|^sqlite:.+$/i,
        "use postgres://user@host[:port]/database, mysql://…, mariadb://… or sqlite:<path>",
      )
      .describe("postgres://user@host[:port]/db, mysql://user@host[:port]/db, mariadb://… or sqlite:<path>."),
    /** The name of the environment variable holding the database password. */
    passwordEnv: z.string().min(1).optional().describe("Environment variable holding the password."),
    /** The path of a file holding the database password. */
    passwordFile: z.string().min(1).optional().describe("File holding the password."),
    /** TLS to the server (PostgreSQL, MySQL/MariaDB): a CA to trust and whether to check the certificate. */
    tls: z
      .strictObject({
        /** A PEM file of the CA certificate(s) to trust. */
        caFile: z.string().min(1).optional().describe("PEM file of the CA certificate(s) to trust."),
        /** Refuse a certificate that is not trusted or not for this host (default true). */
        rejectUnauthorized: z
          .boolean()
          .default(true)
          .describe("Refuse an untrusted certificate (default true)."),
      })
      .optional()
      .describe("Connect with TLS (PostgreSQL, MySQL/MariaDB)."),
    /** One file per table: `{ <table>: { query } }` → `<connection>_<table>.csv`, columns named by the result. */
    tables: z
      .record(
        tableName,
        z.strictObject({ query: z.string().min(1).describe("A SELECT; its columns are the file's.") }),
      )
      .describe("{ table: { query } } → <connection>_<table>.csv."),
    /** Rows fetched per round trip (PostgreSQL cursor, MySQL stream buffer, SQLite batch). */
    fetchSize: z.number().int().min(1).max(100_000).default(1000).describe("Rows per round trip."),
    timeoutSeconds,
    retries,
  })
  .superRefine((value, ctx) => {
    checkSecretSources(value, ctx, {
      env: "passwordEnv",
      file: "passwordFile",
      what: "the password",
      required: false,
    });
    const sqlite = /^sqlite:/i.test(value.url);
    if (sqlite && (value.passwordEnv ?? value.passwordFile) !== undefined) {
      ctx.addIssue({ code: "custom", path: ["passwordEnv"], message: "an SQLite file has no password" });
    }
    if (sqlite && value.tls !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["tls"],
        message: "an SQLite file is not reached over the network",
      });
    }
    if (
      !sqlite &&
      /^[^:]+:\/\/[^/@]*:[^/@]*@/.test(value.url) &&
      (value.passwordEnv ?? value.passwordFile) !== undefined
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message:
          "the URL already holds a password; remove it from the URL (better) or drop passwordEnv/passwordFile",
      });
    }
    if (Object.keys(value.tables).length === 0) {
      ctx.addIssue({ code: "custom", path: ["tables"], message: "list at least one table with its query" });
    }
  });

export type SqlSettings = z.output<typeof sqlConnectionSchema>;

/** The tables a SQL connection writes: one per query. */
export function sqlTables(settings: SqlSettings): string[] {
  return Object.keys(settings.tables);
}

/** What the configuration reads of a SQL connection. */
export const sqlConnection: NativeConnection<SqlSettings> = {
  type: "sql",
  schema: sqlConnectionSchema,
  tables: sqlTables,
  resolvePaths(settings, abs) {
    return { ...absoluteFiles(settings, abs), url: resolveSqliteUrl(settings.url, abs) };
  },
};
