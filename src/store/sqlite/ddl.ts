import type { DdlTypes } from "../migrations/types.js";

/** SQLite compares text with BINARY by default: byte order of UTF-8, the ordinal order. */
export const SQLITE_DDL: DdlTypes = {
  id: "INTEGER PRIMARY KEY",
  ref: "INTEGER",
  key: "TEXT",
  clustered: " WITHOUT ROWID",
};
