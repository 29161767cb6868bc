/**
 * A line without quotes, the parser's hot path: its fields cut with `indexOf`, whether it is
 * blank, trimming, and where a field beyond the header's count starts.
 */
import { isCsvWhitespace } from "./format.js";
import { codePointColumn } from "./record-limit.js";

/**
 * The fields of a line without quotes, from `pos` to `end`, cut at each separator. Sized for
 * the header's count (`expected`; -1 before the header), and cut to the count found.
 */
export function splitLine(text: string, pos: number, end: number, sep: string, expected: number): string[] {
  const fields: string[] = expected > 0 ? new Array<string>(expected) : [];
  let count = 0;
  for (let p = pos; ;) {
    const s = text.indexOf(sep, p);
    if (s === -1 || s >= end) {
      fields[count++] = text.slice(p, end);
      break;
    }
    fields[count++] = text.slice(p, s);
    p = s + 1;
  }
  if (count < fields.length) fields.length = count;
  return fields;
}

function isBlank(text: string, start: number, end: number, sepCode: number): boolean {
  for (let k = start; k < end; k++) {
    const c = text.charCodeAt(k);
    if (c === sepCode || !isCsvWhitespace(c)) return false;
  }
  return true;
}

/** Each field trimmed, in place. */
export function trimFields(fields: string[], trimSet: Set<number>): void {
  for (let i = 0; i < fields.length; i++) fields[i] = trimField(fields[i] as string, trimSet);
}

/** Whether the line from `pos` to `end` holds blanks and separators only, and so no record. */
export function isBlankLine(text: string, pos: number, end: number, sepCode: number): boolean {
  const c0 = text.charCodeAt(pos);
  return (c0 <= 32 || c0 >= 0xa0) && isBlank(text, pos, end, sepCode);
}

/** Column of the first field beyond the `expected` count in a line without quotes. */
export function surplusColumnOfLine(
  text: string,
  pos: number,
  end: number,
  sep: string,
  expected: number,
): number | undefined {
  let k = pos - 1;
  for (let i = 0; i < expected; i++) {
    k = text.indexOf(sep, k + 1);
    if (k === -1 || k >= end) return undefined;
  }
  return codePointColumn(text, pos, k + 1);
}

/** `value` without the trimmed characters at either end. */
export function trimField(value: string, trimSet: Set<number>): string {
  let a = 0;
  let b = value.length;
  while (a < b && trimSet.has(value.charCodeAt(a))) a++;
  while (b > a && trimSet.has(value.charCodeAt(b - 1))) b--;
  return a === 0 && b === value.length ? value : value.slice(a, b);
}
