/**
 * The longest key a connector's files may hold: 1024 bytes of UTF-8, for a primary key, a
 * unique key and each end of an association.
 *
 * Why: the repository indexes keys: `UR_Resources (connector, entity_type, pk)` and one index
 * per unique key, `UR_ResourceLinks`' primary key `(connector, association, key1, key2)`.
 * PostgreSQL refuses an index entry over 2704 bytes (a third of a page): a 1 MiB key failed a
 * synchronization with "index row requires 12072 bytes", naming no file and no line. Two keys
 * of 1024 bytes and the names beside them stay under that limit. SQLite has none, but gets the
 * same one: a file that prepares for one database synchronizes on the other. The check is made
 * at prepare, where the file, line and column of the key are known.
 */
import { SyncupError } from "../errors.js";
import type { MappingDef } from "./mapping.js";

export const MAX_KEY_BYTES = 1024;

/** Characters below which no key can exceed the limit (a UTF-16 unit is at most 3 UTF-8 bytes). */
const SAFE_LENGTH = Math.floor(MAX_KEY_BYTES / 3);

/** Throws KEY_TOO_LONG when a key of a mapped row is longer than the limit. */
export type KeyLimitCheck = (row: readonly string[], line: number) => void;

interface KeyColumn {
  /** Position in the mapped (projected) row. */
  readonly at: number;
  /** What the key is, for the message. */
  readonly what: string;
}

/**
 * The check of a mapping's keys, for rows projected from `file`: `sourceColumns[i]` is the
 * position in the file of the mapped row's column i.
 */
export function keyLimitCheck(
  mapping: MappingDef,
  sourceColumns: readonly number[],
  file: string,
): KeyLimitCheck {
  const keys: KeyColumn[] = [];
  if (mapping.kind === "association") {
    keys.push({ at: 0, what: `end 1 ("${mapping.column1}") of association mapping "${mapping.name}"` });
    keys.push({ at: 1, what: `end 2 ("${mapping.column2}") of association mapping "${mapping.name}"` });
  } else {
    keys.push({ at: 0, what: `the primary key ("${mapping.primaryKey}") of mapping "${mapping.name}"` });
    for (const key of mapping.uniqueKeys) {
      const at = mapping.columns.indexOf(key);
      if (at >= 0) keys.push({ at, what: `the unique key "${key}" of mapping "${mapping.name}"` });
    }
  }
  return (row, line) => {
    for (const key of keys) {
      const value = row[key.at];
      if (value === undefined || value.length <= SAFE_LENGTH) continue;
      const bytes = utf8Length(value);
      if (bytes <= MAX_KEY_BYTES) continue;
      const column = (sourceColumns[key.at] ?? key.at) + 1;
      const position = { file, line, column };
      throw new SyncupError(
        "KEY_TOO_LONG",
        `"${file}" line ${line}, column ${column}: ${key.what} is ${bytes} bytes long (UTF-8); a key may ` +
          `hold at most ${MAX_KEY_BYTES} bytes, the most both databases index. Shorten the key in the ` +
          `export, or map a shorter column as the key.`,
        { position },
      );
    }
  };
}

/** Bytes of `text` in UTF-8 (a lone surrogate counts 3, as it is written: U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
