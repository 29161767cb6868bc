/**
 * How SQL values become CSV text (pure): NULL → empty, booleans `true`/`false`, date-times
 * ISO 8601 in UTC (`2024-01-31T23:59:59.123456Z`), dates `YYYY-MM-DD`, binary data base64,
 * numbers in the database's own exact text, everything else as the database writes it.
 */

/** PostgreSQL type OIDs that need converting (pg_type.dat). */
const PG_BOOL = 16;
const PG_BYTEA = 17;
const PG_TIMESTAMP = 1114;
const PG_TIMESTAMPTZ = 1184;

/**
 * A PostgreSQL value, as the server writes it in text with `TimeZone=UTC`, `DateStyle=ISO` and
 * `bytea_output=hex`, turned into the documented form.
 */
export function postgresText(oid: number, text: string | null): string {
  if (text === null) return "";
  switch (oid) {
    case PG_BOOL:
      return text === "t" ? "true" : text === "f" ? "false" : text;
    case PG_BYTEA:
      return text.startsWith("\\x") ? Buffer.from(text.slice(2), "hex").toString("base64") : text;
    case PG_TIMESTAMP:
    case PG_TIMESTAMPTZ:
      return isoDateTime(text);
    default:
      return text;
  }
}

/**
 * `2024-01-31 23:59:59.123456+00` (or without zone: taken as UTC) → `2024-01-31T23:59:59.123456Z`.
 * Values outside that shape (`infinity`, dates BC, a zone other than UTC) are left as they are.
 */
export function isoDateTime(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:\+00(?::?00)?|Z)?$/.exec(text);
  return m === null ? text : `${m[1]}T${m[2]}Z`;
}

/** The MySQL / MariaDB column types (protocol numbers) that need converting. */
const MY = {
  TINY: 1,
  TIMESTAMP: 7,
  DATE: 10,
  DATETIME: 12,
  NEWDATE: 14,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
} as const;

export interface MysqlColumn {
  readonly type: number;
  readonly length: number;
}

/**
 * A MySQL / MariaDB value as mysql2 gives it (with dateStrings, bigNumberStrings, jsonStrings
 * and the session in UTC) in the documented form. TINYINT(1) (BOOLEAN) and BIT(1) are booleans;
 * a zero date (`0000-00-00`) is empty.
 */
export function mysqlText(column: MysqlColumn, value: unknown): string {
  if (value === null || value === undefined) return "";
  switch (column.type) {
    case MY.TINY:
      if (column.length === 1) return Number(value) === 0 ? "false" : "true";
      break;
    case MY.BIT:
      if (Buffer.isBuffer(value)) {
        if (column.length === 1) return value.some((b) => b !== 0) ? "true" : "false";
        return BigInt(`0x${value.toString("hex") || "0"}`).toString();
      }
      break;
    case MY.DATE:
    case MY.NEWDATE:
      if (typeof value === "string" && value.startsWith("0000-00-00")) return "";
      break;
    case MY.DATETIME:
    case MY.DATETIME2:
    case MY.TIMESTAMP:
    case MY.TIMESTAMP2:
      if (typeof value === "string") return value.startsWith("0000-00-00") ? "" : isoDateTime(value);
      break;
  }
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/** A SQLite value as stored: integers (read as bigint) and reals in decimal, text as is, blobs base64. */
export function sqliteText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "number") return String(value);
  if (Buffer.isBuffer(value)) return value.toString("base64");
  return JSON.stringify(value);
}

/** The names used twice in a result's columns (a query must alias them: one CSV column each). */
export function duplicateColumns(columns: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const c of columns) (seen.has(c) ? twice : seen).add(c);
  return [...twice];
}
