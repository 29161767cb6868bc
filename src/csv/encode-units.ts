/**
 * One CSV line written straight from UTF-16 code units into UTF-8 bytes, the same bytes as
 * `Buffer.from(formatCsvLine(fields), "utf8")`: a row held in typed arrays (the external sort's
 * chunks) is written without making a string of each field, of the line and of the text.
 */
import { isCsvWhitespace } from "./format.js";

const QUOTE = 34;

/** The most bytes `encodeCsvUnits` writes for a row of `chars` code units in `width` fields. */
export function maxCsvLineBytes(chars: number, width: number): number {
  // 3 bytes a unit at most (a doubled quote is 2, a surrogate pair 4 for 2 units), 2 quotes and
  // a separator a field, the line end, and `""` for a single empty field.
  return chars * 3 + width * 3 + 3;
}

/**
 * Writes the row whose `width` fields are `units[start ..]`, one after the other, field k
 * `lengths[at + k]` units long, as a CSV line ending in "\n" (quoting as `formatCsvLine` does)
 * into `out` from `offset`; returns the offset after it. `out` must hold `maxCsvLineBytes` more.
 * An unpaired surrogate is written as U+FFFD, as Node.js's UTF-8 encoder does.
 */
export function encodeCsvUnits(
  units: Uint16Array,
  start: number,
  lengths: Uint32Array,
  at: number,
  width: number,
  separator: number,
  out: Uint8Array,
  offset: number,
): number {
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
