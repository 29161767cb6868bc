/** Key prefixes as ranges of a key index: keys compare in code point (UTF-8 byte) order. */
import type { SqlValue } from "./driver.js";

/**
 * The least string above every string that starts with `prefix`, in code point order: the
 * prefix with its last code point one higher (dropped when it is the highest); undefined when
 * there is none.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return points.join("") + String.fromCodePoint(next);
  }
  return undefined;
}

/** The condition that `column` starts with `prefix`, as a range an index serves (not LIKE). */
export function prefixRange(column: string, prefix: string): { sql: string; params: SqlValue[] } {
  const end = prefixEnd(prefix);
  return end === undefined
    ? { sql: `${column} >= ?`, params: [prefix] }
    : { sql: `${column} >= ? AND ${column} < ?`, params: [prefix, end] };
}
