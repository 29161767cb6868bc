/**
 * The DDL fragments in which the dialects differ. Everything else in a migration is the same
 * plain SQL on SQLite and PostgreSQL (and on PostgreSQL-compatible distributed engines).
 */
export interface DdlTypes {
  /** An auto-assigned integer primary key. */
  readonly id: string;
  /** A reference to such an id. */
  readonly ref: string;
  /** A text column holding keys: compared in ordinal (byte) order. */
  readonly key: string;
  /** After the closing parenthesis of a table stored in its primary key's order. */
  readonly clustered: string;
}

/** One forward-only schema change; `id` is its number, applied in order, never edited once released. */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: (types: DdlTypes) => string;
}
