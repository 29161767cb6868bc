/**
 * One CSV line written straight from UTF-16 code units into UTF-8 bytes, the same bytes as
 * `Buffer.from(formatCsvLine(fields), "utf8")`: a row held in typed arrays (the external sort's
 * chunks) is written without making a string of each field, of the line and of the text.
 */
import { isCsvWhitespace } from "./format.js";

const QUOTE = 34;

/**
 * A row held as code units: its `width` fields are `units[start ..]`, one after the other, field
 * k `lengths[at + k]` units long. A writer fills one and reuses it for every row.
 */
export interface UnitsRow {
  units: Uint16Array;
  start: number;
  lengths: Uint32Array;
  at: number;
  width: number;
}

/** The most bytes `encodeCsvUnits` writes for a row of `chars` code units in `width` fields. */
export function maxCsvLineBytes(chars: number, width: number): number {
  // 3 bytes a unit at most (a doubled quote is 2, a surrogate pair 4 for 2 units), 2 quotes and
  // a separator a field, the line end, and `""` for a single empty field.
  return chars * 3 + width * 3 + 3;
}

/**
 * Writes a row as a CSV line ending in "\n" (quoting as `formatCsvLine` does) into `out` from
 * `offset`; returns the offset after it. `out` must hold `maxCsvLineBytes` more.
 * An unpaired surrogate is written as U+FFFD, as Node.js's UTF-8 encoder does.
 */
export function encodeCsvUnits(row: UnitsRow, separator: number, out: Uint8Array, offset: number): number {
  const end = plainRow(row, separator, out, offset);
  return end >= 0 ? end : encodeRow(row, separator, out, offset);
}

/** ASCII units that a field may hold unquoted, for the last separator asked. */
let plain = new Uint8Array(0);
let plainSeparator = -1;

/**
 * The common row, copied as it is: ASCII only, no separator, quote or line end in a field, no
 * field starting or ending with a control character or a space, not one empty field. Returns
 * the offset after the line, or -1 for any other row (then `out` holds garbage from `offset`).
 */
function plainRow(row: UnitsRow, separator: number, out: Uint8Array, offset: number): number {
  const { units, start, lengths, at, width } = row;
  if (separator !== plainSeparator) {
    plain = new Uint8Array(128).fill(1);
    for (const c of [separator, QUOTE, 10, 13]) plain[c] = 0;
    plainSeparator = separator;
  }
  const table = plain;
  let o = offset;
  let from = start;
  for (let k = 0; k < width; k++) {
    const length = lengths[at + k] as number;
    if (k > 0) out[o++] = separator;
    else if (length === 0 && width === 1) return -1;
    if (length === 0) continue;
    const end = from + length;
    if ((units[from] as number) <= 32 || (units[end - 1] as number) <= 32) return -1;
    for (let i = from; i < end; i++) {
      const c = units[i] as number;
      if (c >= 0x80 || table[c] === 0) return -1;
      out[o++] = c;
    }
    from = end;
  }
  out[o++] = 10;
  return o;
}

/** Any row, field by field (see `encodeCsvUnits`). */
function encodeRow(row: UnitsRow, separator: number, out: Uint8Array, offset: number): number {
  const { units, start, lengths, at, width } = row;
  let o = offset;
  let from = start;
  for (let k = 0; k < width; k++) {
    const end = from + (lengths[at + k] as number);
    if (k > 0) out[o++] = separator;
    if (end === from) {
      if (width === 1) {
        out[o++] = QUOTE;
        out[o++] = QUOTE;
      }
      continue;
    }
    if (needsQuotes(units, from, end, separator)) {
      out[o++] = QUOTE;
      o = encodeUtf8(units, from, end, out, o, true);
      out[o++] = QUOTE;
    } else {
      o = encodeUtf8(units, from, end, out, o, false);
    }
    from = end;
  }
  out[o++] = 10;
  return o;
}

/** Whether a non-empty field must be quoted (see `formatCsvLine`). */
function needsQuotes(units: Uint16Array, from: number, end: number, separator: number): boolean {
  if (isCsvWhitespace(units[from] as number) || isCsvWhitespace(units[end - 1] as number)) return true;
  for (let i = from; i < end; i++) {
    const c = units[i] as number;
    if (c === separator || c === QUOTE || c === 10 || c === 13) return true;
  }
  return false;
}

/** UTF-8 of `units[from .. end]`, quotes doubled when `quoted`; returns the offset after it. */
function encodeUtf8(
  units: Uint16Array,
  from: number,
  end: number,
  out: Uint8Array,
  offset: number,
  quoted: boolean,
): number {
  let o = offset;
  for (let i = from; i < end; i++) {
    let c = units[i] as number;
    if (c < 0x80) {
      out[o++] = c;
      if (c === QUOTE && quoted) out[o++] = c;
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < end ? (units[i + 1] as number) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const point = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          out[o++] = 0xf0 | (point >> 18);
          out[o++] = 0x80 | ((point >> 12) & 0x3f);
          out[o++] = 0x80 | ((point >> 6) & 0x3f);
          out[o++] = 0x80 | (point & 0x3f);
          i++;
          continue;
        }
        c = 0xfffd;
      }
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return o;
}
