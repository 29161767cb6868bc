/**
 * The error for a record longer than the largest one a reader accepts (`maxRecordLength`, in
 * characters). The limit bounds the memory a reader and what follows it (a sort, a writer) need
 * for one record; the error says where the record crosses it: the line and column where the
 * field that crosses it starts, and that field's name.
 */
import { SyncupError, formatPosition } from "../errors.js";

const LF = 10;
const CR = 13;

export interface RecordLimit {
  /** Characters. */
  readonly maxRecordLength: number;
  /** The setting that raises the limit, named in the message (e.g. "prepare.maxRecordMiB"). */
  readonly setting?: string | undefined;
}

export interface RecordText {
  readonly file: string;
  readonly text: string;
  /** Where the record starts in `text`, and its physical line. */
  readonly start: number;
  readonly line: number;
  /** Whether the record ends in `text` (else it goes on beyond, as far as is known). */
  readonly complete: boolean;
  readonly separator: string;
  readonly quote: string;
  readonly trim: ReadonlySet<number> | undefined;
  readonly header: readonly string[] | undefined;
}

/** "64 Mi characters", or the exact count when it is not whole Mi. */
export function describeLimit(max: number): string {
  return max % (1024 * 1024) === 0 ? `${max / (1024 * 1024)} Mi characters` : `${max} characters`;
}

/**
 * CSV_RECORD_TOO_LARGE at the start of the field in which the record crosses the limit; or
 * CSV_UNTERMINATED_QUOTE when that field is a quoted one that is still open where the known
 * text ends (a missing closing quote is the likelier cause).
 */
export function recordTooLarge(record: RecordText, limit: RecordLimit): SyncupError {
  const { text, start, separator, quote, trim } = record;
  const sepCode = separator.charCodeAt(0);
  const quoteCode = quote.charCodeAt(0);
  const crossing = Math.min(text.length, start + limit.maxRecordLength);
  let field = 0;
  let fieldStart = start;
  let fieldLine = record.line;
  let fieldLineStart = start;
  let line = record.line;
  let lineStart = start;
  let atFieldStart = true;
  let inQuotes = false;
  for (let k = start; k < crossing; k++) {
    const c = text.charCodeAt(k);
    if (c === LF || (c === CR && text.charCodeAt(k + 1) !== LF)) {
      line++;
      lineStart = k + 1;
      if (!inQuotes) break; // the record ends here (only a complete record's last line end)
      continue;
    }
    if (inQuotes) {
      if (c === quoteCode) {
        if (text.charCodeAt(k + 1) === quoteCode) k++;
        else inQuotes = false;
      }
      continue;
    }
    if (atFieldStart && trim?.has(c) === true) continue;
    if (atFieldStart && c === quoteCode) {
      inQuotes = true;
      atFieldStart = false;
      continue;
    }
    atFieldStart = false;
    if (c === sepCode) {
      field++;
      fieldStart = k + 1;
      fieldLine = line;
      fieldLineStart = lineStart;
      atFieldStart = true;
    }
  }
  const position = {
    file: record.file,
    line: fieldLine,
    column: codePointColumn(text, fieldLineStart, fieldStart),
  };
  const max = describeLimit(limit.maxRecordLength);
  const setting = limit.setting === undefined ? "" : ` (${limit.setting})`;
  if (inQuotes && !record.complete) {
    return new SyncupError(
      "CSV_UNTERMINATED_QUOTE",
      `Cannot parse ${formatPosition(position)}: the quoted field that opens here is still open after ` +
        `${max}, the longest record accepted${setting}. Its closing quote is probably missing; if the ` +
        `field really is that long, raise the limit.`,
      { position },
    );
  }
  const name = record.header?.[field];
  const which = name === undefined ? `field ${field + 1}` : `field ${field + 1} ("${name}")`;
  return new SyncupError(
    "CSV_RECORD_TOO_LARGE",
    `Cannot parse ${formatPosition(position)}: the record that starts on line ${record.line} is longer ` +
      `than ${max}, the longest record accepted${setting}; ${which}, which starts here, crosses the limit. ` +
      `If the data is right, raise the limit; if the record should have ended sooner, check the file's ` +
      `encoding and line ends.`,
    { position },
  );
}

/** 1-based column of `index`, counting code points from `lineStart`. */
export function codePointColumn(text: string, lineStart: number, index: number): number {
  let column = 1;
  for (let k = lineStart; k < index; k++) {
    const c = text.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff && k + 1 < index) {
      const d = text.charCodeAt(k + 1);
      if (d >= 0xdc00 && d <= 0xdfff) k++;
    }
    column++;
  }
  return column;
}
