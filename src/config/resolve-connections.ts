/**
 * A connector's connections and the tables they export: csv connections (files), command
 * connections (an external program), native connectors (their tables named by the connector).
 * A table's CSV format is the connection's, overridden key by key by the table's, and checked by
 * the CSV reader's own rules.
 */
import { DEFAULT_CSV_FORMAT, resolveCsvFormat, type CsvFormat } from "../csv/format.js";
import { SyncupError } from "../errors.js";
import { nativeConnection } from "../connectors/schemas.js";
import type { ConnectionDef, CsvTableDef } from "./config.js";
import type { ConfigPath, RawConnection, RawConnector, Resolving } from "./resolving.js";

const DEFAULT_COMMAND_TIMEOUT_SECONDS = 3600;

type FileConnection = Extract<RawConnection, { type: "csv" | "command" }>;

/** The connections of connector `cpath` and their tables, by `<connection>_<table>`. */
export function resolveConnections(
  cpath: ConfigPath,
  rawConnector: RawConnector,
  r: Resolving,
): { connections: Record<string, ConnectionDef>; tables: Record<string, CsvTableDef> } {
  const connections: Record<string, ConnectionDef> = {};
  const tables: Record<string, CsvTableDef> = {};
  for (const [connName, conn] of Object.entries(rawConnector.connections)) {
    if (conn.type === "csv") {
      connections[connName] = {
        type: "csv",
        name: connName,
        path: r.abs(conn.path),
        incrementalPath: r.abs(conn.incrementalPath ?? conn.path),
      };
    } else if (conn.type === "command") {
      connections[connName] = {
        type: "command",
        name: connName,
        command: conn.command,
        cwd: r.abs(conn.cwd ?? "."),
        env: conn.env ?? {},
        timeoutSeconds: conn.timeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
      };
    } else {
      const native = resolveNative(cpath, connName, conn, tables, r);
      if (native !== undefined) connections[connName] = native;
      continue;
    }
    addFileTables(cpath, connName, conn, tables, r);
  }
  return { connections, tables };
}

/** A native connection, its tables added to `tables`; undefined when its type is unknown. */
function resolveNative(
  cpath: ConfigPath,
  connName: string,
  conn: { type: string },
  tables: Record<string, CsvTableDef>,
  r: Resolving,
): ConnectionDef | undefined {
  const native = nativeConnection(conn.type);
  if (native === undefined) {
    r.problem([...cpath, "connections", connName, "type"], `unknown connection type "${conn.type}"`);
    return undefined;
  }
  const settings: unknown = native.resolvePaths ? native.resolvePaths(conn, r.abs) : conn;
  for (const tableName of native.tables(conn)) {
    const fullName = `${connName}_${tableName}`;
    if (fullName in tables)
      r.problem(
        [...cpath, "connections", connName],
        `table name "${fullName}" is used twice in this connector`,
      );
    tables[fullName] = {
      name: fullName,
      connection: connName,
      table: tableName,
      format: DEFAULT_CSV_FORMAT,
      filePattern: null,
    };
  }
  return { type: "native", kind: conn.type, name: connName, settings };
}

/** The tables of a csv or command connection, added to `tables`: file pattern and CSV format. */
function addFileTables(
  cpath: ConfigPath,
  connName: string,
  conn: FileConnection,
  tables: Record<string, CsvTableDef>,
  r: Resolving,
): void {
  const connFormat = pickFormat(conn);
  for (const [tableName, table] of Object.entries(conn.tables)) {
    const fullName = `${connName}_${tableName}`;
    const tpath = [...cpath, "connections", connName, "tables", tableName];
    if (fullName in tables) r.problem(tpath, `table name "${fullName}" is used twice in this connector`);
    let filePattern: RegExp | null = null;
    if ("file" in table && typeof table.file === "string") {
      try {
        filePattern = new RegExp(table.file);
      } catch (error) {
        r.problem([...tpath, "file"], `not a valid regular expression: ${(error as Error).message}`);
      }
    }
    const tableFormat = pickFormat(table);
    const format = checkedFormat(
      { ...connFormat, ...tableFormat },
      (key) => {
        if (key in tableFormat) return [...tpath, key];
        return key in connFormat ? [...cpath, "connections", connName, key] : tpath;
      },
      r,
    );
    tables[fullName] = { name: fullName, connection: connName, table: tableName, format, filePattern };
  }
}

/**
 * The CSV format of a table, checked by the CSV reader's own rules (`resolveCsvFormat`), so that
 * a format the reader would refuse is refused here, each problem at the key that set it.
 */
function checkedFormat(
  format: Partial<CsvFormat>,
  pathOf: (key: keyof CsvFormat) => ConfigPath,
  r: Resolving,
): CsvFormat {
  try {
    return resolveCsvFormat(format);
  } catch (error) {
    if (!(error instanceof SyncupError)) throw error;
    for (const detail of error.details) {
      const key = FORMAT_KEYS.find((k) => detail.startsWith(`${k} `)) ?? "separator";
      r.problem(pathOf(key), detail);
    }
    return { ...DEFAULT_CSV_FORMAT, ...format };
  }
}

const FORMAT_KEYS = ["encoding", "separator", "quote", "skipLines", "trim"] as const;

function pickFormat(source: Partial<Record<keyof CsvFormat, unknown>>): Partial<CsvFormat> {
  const out: Partial<CsvFormat> = {};
  for (const key of FORMAT_KEYS) {
    if (source[key] !== undefined) (out as Record<string, unknown>)[key] = source[key];
  }
  return out;
}
