/**
 * Ordinal key order: the order of the keys' UTF-8 bytes, which is the order of their Unicode
 * code points. It is the order of `LC_ALL=C sort`, PostgreSQL's `COLLATE "C"` and SQLite's
 * `BINARY`, so that files and the repository can be merge-joined.
 *
 * JavaScript's `<` compares UTF-16 code units, which agrees with code point order except
 * when one string has a surrogate (U+D800–U+DFFF, used for code points above U+FFFF) where
 * the other has a code unit in U+E000–U+FFFF. Those pairs are fixed up here.
 */
export function compareOrdinal(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) {
      if (ca >= 0xd800 && cb >= 0xd800) return fixup(ca) - fixup(cb);
      return ca - cb;
    }
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000–U+FFFF so that code-unit order becomes code-point order. */
function fixup(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Compares two tuples of keys (an association's pair) ordinally, column by column. */
export function compareOrdinalTuple(a: readonly string[], b: readonly string[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const c = compareOrdinal(a[i] as string, b[i] as string);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
