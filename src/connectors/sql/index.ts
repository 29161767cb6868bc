/** The SQL connector (`type: sql`): PostgreSQL, MySQL / MariaDB and SQLite queries. */
import type { NativeConnector } from "../native.js";
import { sqlExport } from "./export.js";
import { sqlConnectionSchema, sqlTables, type SqlSettings } from "./schema.js";
import { resolveSqliteUrl } from "./url.js";

export const sqlConnector: NativeConnector<SqlSettings> = {
  type: "sql",
  schema: sqlConnectionSchema,
  tables: sqlTables,
  resolvePaths(settings, abs) {
    return {
      ...settings,
      url: resolveSqliteUrl(settings.url, abs),
      ...(settings.passwordFile === undefined ? {} : { passwordFile: abs(settings.passwordFile) }),
      ...(settings.tls?.caFile === undefined
        ? {}
        : { tls: { ...settings.tls, caFile: abs(settings.tls.caFile) } }),
    };
  },
  export: sqlExport,
};
