/** The SQL connector (`type: sql`): PostgreSQL, MySQL / MariaDB and SQLite queries. */
import type { NativeConnector } from "../native.js";
import { sqlExport } from "./export.js";
import { sqlConnection, type SqlSettings } from "./schema.js";

export const sqlConnector: NativeConnector<SqlSettings> = { ...sqlConnection, export: sqlExport };
