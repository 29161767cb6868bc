import { SyncupError, formatPosition, type FilePosition } from "../errors.js";
import { isCsvWhitespace, type CsvFormat } from "./format.js";

/** A data record: its fields and the 1-based physical line where it starts. */
export interface CsvRow {
  fields: string[];
  line: number;
}

/** Records larger than this (in characters) are refused; it bounds memory on a missing closing quote. */
export const DEFAULT_MAX_RECORD_LENGTH = 64 * 1024 * 1024;

const LF = 10;
const CR = 13;
/** Records are handed out in batches of those starting in about this many characters of text. */
export const DEFAULT_BATCH_CHARS = 64 * 1024;
/** A record still incomplete after this many characters is retried only once as many more are queued. */
const LARGE_RECORD = 1 << 16;
/** Separators that, found in a line with too few fields, suggest that the separator is wrong. */
const COMMON_SEPARATORS = [",", ";", "\t", "|"];

interface SlowRecord {
  fields: string[];
  /** Index after the record's line end. */
  next: number;
  /** Physical line of the record's last line. */
  endLine: number;
  /** Column of the first field beyond the header's count, when it is on the record's first line. */
  surplusColumn: number | undefined;
}

/**
 * The CSV record parser: fed decoded text in pieces of any size, it hands out the complete records
 * in batches and keeps the incomplete rest. Pure (no I/O); `openCsv` drives it:
 *
 *     parser.push(text);
 *     for (let rows; (rows = parser.next()) !== undefined; ) use(rows);
 *     ... and at the end of the input: for (let rows; (rows = parser.next(true)) !== undefined; ) use(rows);
 *
 * Hot path: a physical line without a quote is cut with `indexOf` on the decoded text. Lines with
 * a quote go through a quote-aware scanner that may span lines. Text before `pos` has been parsed;
 * `pos` is always at the start of a physical line (numbered `line`).
 */
export class CsvParser {
  header: string[] | undefined;
  headerLine = 0;

  private readonly sep: string;
  private readonly sepCode: number;
  private readonly quote: string;
  private readonly quoteCode: number;
  private readonly trimSet: Set<number> | undefined;
  private readonly maxRecordLength: number;
  private readonly batchChars: number;
  private readonly skipLines: number;
  private toSkip: number;
  private expected = -1;
  /** The text being parsed, and how far. */
  private text = "";
  private pos = 0;
  private line = 1;
  /** Whether `text` has a CR at all (else line ends are found with LF alone). */
  private hasCR = false;
  /** Caches, for `text`: the next quote and CR at or after `pos` (-1: to be searched; length: none). */
  private nextQuote = -1;
  private nextCR = -1;
  /** Pushed text not yet joined to `text`. */
  private parts: string[] = [];
  private partsLength = 0;
  /** Whether parsing stopped at a record that needs more text. */
  private incomplete = false;
  private finished = false;
  /** Set by a parse that stopped inside a quoted field lacking its closing quote. */
  private openQuote: { line: number; column: number } | undefined;

  constructor(
    readonly file: string,
    format: CsvFormat,
    options: { maxRecordLength?: number | undefined; batchChars?: number | undefined } = {},
  ) {
    this.sep = format.separator;
    this.sepCode = format.separator.charCodeAt(0);
    this.quote = format.quote;
    this.quoteCode = format.quote.charCodeAt(0);
    this.trimSet = format.trim === "" ? undefined : new Set([...format.trim].map((c) => c.charCodeAt(0)));
    this.skipLines = format.skipLines;
    this.toSkip = format.skipLines;
    this.maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
    this.batchChars = options.batchChars ?? DEFAULT_BATCH_CHARS;
  }

  /** Queues the next piece of text. */
  push(text: string): void {
    if (text.length === 0) return;
    this.parts.push(text);
    this.partsLength += text.length;
  }

  /**
   * The records that start in the next `batchChars` of text (possibly none, e.g. for blank lines),
   * or undefined when the queued text holds no further complete record. With `final` (no more text
   * will be pushed) the last record may lack its line end, and undefined means the end; at the end,
   * a missing header is CSV_FILE_EMPTY. With `untilHeader`, a batch ends after the header record.
   */
  next(final = false, untilHeader = false): CsvRow[] | undefined {
    if (this.incomplete || this.pos >= this.text.length) {
      const restLength = this.text.length - this.pos;
      if (this.partsLength === 0) {
        if (restLength === 0 || !final) {
          if (final && !this.finished) {
            this.finished = true;
            if (this.header === undefined) throw this.empty();
          }
          return undefined;
        }
      } else if (restLength === 0) {
        this.setText(this.takePart());
      } else {
        // A record continues in the queued text: parse it from a small bridge of its start and
        // the queued text up to a line end, growing geometrically while the record stays incomplete.
        const more = restLength > LARGE_RECORD ? restLength : 0;
        if (!final && this.partsLength < more && restLength + this.partsLength <= this.maxRecordLength) {
          return undefined;
        }
        this.bridge(more);
      }
    }
    const rows = this.parse(final && this.partsLength === 0, untilHeader);
    if (this.incomplete && this.text.length - this.pos > this.maxRecordLength) throw this.tooLarge();
    return rows;
  }

  /** The line and (character) column just after all the text pushed so far. */
  positionAtEnd(): { line: number; column: number } {
    this.bridge(Infinity);
    const text = this.text;
    let line = this.line;
    let lineStart = 0;
    for (let k = 0; k < text.length; k++) {
      const c = text.charCodeAt(k);
      if (c === LF || (c === CR && text.charCodeAt(k + 1) !== LF)) {
        line++;
        lineStart = k + 1;
      }
    }
    return { line, column: codePointColumn(text, lineStart, text.length) };
  }

  private takePart(): string {
    const part = this.parts.shift() ?? "";
    this.partsLength -= part.length;
    return part;
  }

  /**
   * Makes the unparsed rest plus at least `more` characters of the queued text (then up to and
   * including the next LF) the text to parse. Copies only the rest and that much.
   */
  private bridge(more: number): void {
    let text = this.pos === 0 ? this.text : this.text.slice(this.pos);
    let taken = 0;
    while (this.parts.length > 0) {
      const part = this.parts[0] as string;
      const from = more - taken;
      const lf = from < part.length ? part.indexOf("\n", Math.max(0, from)) : -1;
      if (lf === -1) {
        text += this.takePart();
        taken += part.length;
        continue;
      }
      text += part.slice(0, lf + 1);
      this.parts[0] = part.slice(lf + 1);
      this.partsLength -= lf + 1;
      if (lf + 1 === part.length) this.parts.shift();
      break;
    }
    this.setText(text);
  }

  private setText(text: string): void {
    this.text = text;
    this.pos = 0;
    this.hasCR = text.indexOf("\r") !== -1;
    this.nextQuote = -1;
    this.nextCR = this.hasCR ? -1 : text.length;
    this.incomplete = false;
  }

  private parse(final: boolean, untilHeader: boolean): CsvRow[] {
    const rows: CsvRow[] = [];
    const text = this.text;
    const n = text.length;
    let pos = this.pos;
    let line = this.line;
    const limit = pos + this.batchChars;
    this.openQuote = undefined;
    this.incomplete = false;

    // Lines skipped before the header: physical lines, quotes are not looked at.
    while (this.toSkip > 0 && pos < n) {
      const lf = text.indexOf("\n", pos);
      let cr = text.indexOf("\r", pos);
      if (cr === -1) cr = n;
      let next: number;
      if (lf !== -1 && lf < cr) next = lf + 1;
      else if (cr < n) {
        if (cr + 1 >= n && !final) break;
        next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
      } else if (final) next = n;
      else break;
      pos = next;
      line++;
      this.toSkip--;
    }
    if (this.toSkip > 0 && pos < n) {
      this.incomplete = true;
      this.pos = pos;
      this.line = line;
      return rows;
    }

    const sep = this.sep;
    const sepCode = this.sepCode;
    const quote = this.quote;
    const trimSet = this.trimSet;
    let expected = this.expected;
    let q = this.nextQuote; // next quote at or after pos (n = none)
    let cr = this.nextCR; // next CR at or after pos (n = none)
    let stoppedAtHeader = false;
    while (pos < n && pos < limit) {
      let lf = text.indexOf("\n", pos);
      if (lf === -1) lf = n;
      if (cr < pos) {
        cr = text.indexOf("\r", pos);
        if (cr === -1) cr = n;
      }
      let end: number;
      let next: number;
      if (cr < lf) {
        if (cr + 1 < n) next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        else if (final) next = n;
        else break;
        end = cr;
      } else if (lf < n) {
        end = lf;
        next = lf + 1;
      } else if (final) {
        end = n;
        next = n;
      } else break;
      if (q < pos) {
        q = text.indexOf(quote, pos);
        if (q === -1) q = n;
      }
      if (q >= end) {
        // A line without quotes.
        if (end === pos) {
          pos = next;
          line++;
          continue;
        }
        const c0 = text.charCodeAt(pos);
        if ((c0 <= 32 || c0 >= 0xa0) && isBlank(text, pos, end, sepCode)) {
          pos = next;
          line++;
          continue;
        }
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
        if (trimSet !== undefined) trimFields(fields, trimSet);
        if (count === expected) {
          rows.push({ fields, line });
        } else if (expected < 0) {
          expected = this.setHeader(fields, line);
          if (untilHeader) {
            pos = next;
            line++;
            stoppedAtHeader = true;
            break;
          }
        } else {
          throw this.ragged(text, pos, next, line, count, this.surplusColumnOfLine(text, pos, end));
        }
        pos = next;
        line++;
      } else {
        const record = this.parseRecord(text, pos, line, final);
        if (record === undefined) break;
        if (record.fields.length === expected) {
          rows.push({ fields: record.fields, line });
        } else if (expected < 0) {
          expected = this.setHeader(record.fields, line);
          if (untilHeader) {
            pos = record.next;
            line = record.endLine + 1;
            stoppedAtHeader = true;
            break;
          }
        } else {
          throw this.ragged(text, pos, record.next, line, record.fields.length, record.surplusColumn);
        }
        pos = record.next;
        line = record.endLine + 1;
      }
    }
    this.incomplete = pos < n && pos < limit && !stoppedAtHeader;
    this.pos = pos;
    this.line = line;
    this.nextQuote = q;
    this.nextCR = cr;
    return rows;
  }

  private empty(): SyncupError {
    const skipped = this.skipLines > 0 ? ` (after skipping ${this.skipLines} lines)` : "";
    return new SyncupError("CSV_FILE_EMPTY", `"${this.file}" is empty: expected a header line${skipped}`, {
      position: { file: this.file },
    });
  }

  private setHeader(fields: string[], line: number): number {
    this.header = fields;
    this.headerLine = line;
    this.expected = fields.length;
    return fields.length;
  }

  /**
   * Parses one record that contains a quote, starting at `start` (a line start). Returns undefined
   * when the text ends before the record does (and more text may follow).
   */
  private parseRecord(text: string, start: number, line: number, final: boolean): SlowRecord | undefined {
    const n = text.length;
    const sep = this.sep;
    const sepCode = this.sepCode;
    const quote = this.quote;
    const quoteCode = this.quoteCode;
    const trimSet = this.trimSet;
    const hasCR = this.hasCR;
    const fields: string[] = [];
    let p = start;
    let curLine = line;
    let lineStart = start;
    let lineEnd = lineBreakFrom(text, start, hasCR); // first CR or LF of the current line (n: none)
    let surplusColumn: number | undefined;
    let next: number;
    record: for (;;) {
      if (fields.length === this.expected && curLine === line) {
        surplusColumn = codePointColumn(text, lineStart, p);
      }
      let s = p;
      if (trimSet !== undefined) while (s < n && trimSet.has(text.charCodeAt(s))) s++;
      if (s < n && text.charCodeAt(s) === quoteCode) {
        const openLine = curLine;
        let value = "";
        let c = s + 1;
        for (;;) {
          const qi = text.indexOf(quote, c);
          if (qi === -1) {
            const openColumn = codePointColumn(text, lineStart, s);
            if (final) throw this.unterminated(openLine, openColumn);
            this.openQuote = { line: openLine, column: openColumn };
            return undefined;
          }
          if (lineEnd < qi) {
            // Line breaks inside the quoted field: count them.
            if (hasCR) {
              for (let k = lineEnd; k < qi; k++) {
                const ch = text.charCodeAt(k);
                if (ch === LF || (ch === CR && text.charCodeAt(k + 1) !== LF)) {
                  curLine++;
                  lineStart = k + 1;
                }
              }
            } else {
              for (let k = lineEnd; k !== -1 && k < qi; k = text.indexOf("\n", k + 1)) {
                curLine++;
                lineStart = k + 1;
              }
            }
            lineEnd = lineBreakFrom(text, qi, hasCR);
          }
          if (qi + 1 >= n) {
            if (!final) return undefined;
            value += text.slice(c, qi);
            p = qi + 1;
            break;
          }
          if (text.charCodeAt(qi + 1) === quoteCode) {
            value += text.slice(c, qi + 1);
            c = qi + 2;
            continue;
          }
          value += text.slice(c, qi);
          p = qi + 1;
          break;
        }
        const closing = p - 1;
        if (trimSet !== undefined) while (p < n && trimSet.has(text.charCodeAt(p))) p++;
        if (p >= n) {
          if (!final) return undefined;
          fields.push(value);
          next = n;
          break record;
        }
        const ch = text.charCodeAt(p);
        if (ch === sepCode) {
          fields.push(value);
          p++;
          continue;
        }
        if (ch === LF) {
          fields.push(value);
          next = p + 1;
          break record;
        }
        if (ch === CR) {
          if (p + 1 >= n && !final) return undefined;
          fields.push(value);
          next = text.charCodeAt(p + 1) === LF ? p + 2 : p + 1;
          break record;
        }
        throw this.badQuote(curLine, codePointColumn(text, lineStart, closing), text, p);
      } else {
        let e = text.indexOf(sep, p);
        if (e === -1 || e > lineEnd) e = lineEnd;
        const value = trimSet === undefined ? text.slice(p, e) : trimField(text.slice(p, e), trimSet);
        if (e >= n) {
          if (!final) return undefined;
          fields.push(value);
          next = n;
          break record;
        }
        fields.push(value);
        if (e < lineEnd) {
          p = e + 1;
          continue;
        }
        if (text.charCodeAt(e) === LF) {
          next = e + 1;
        } else {
          if (e + 1 >= n && !final) return undefined;
          next = text.charCodeAt(e + 1) === LF ? e + 2 : e + 1;
        }
        break record;
      }
    }
    return { fields, next, endLine: curLine, surplusColumn };
  }

  /** Column of the first field beyond the expected count in an unquoted line. */
  private surplusColumnOfLine(text: string, pos: number, end: number): number | undefined {
    let k = pos - 1;
    for (let i = 0; i < this.expected; i++) {
      k = text.indexOf(this.sep, k + 1);
      if (k === -1 || k >= end) return undefined;
    }
    return codePointColumn(text, pos, k + 1);
  }

  private ragged(
    text: string,
    start: number,
    next: number,
    line: number,
    found: number,
    surplusColumn: number | undefined,
  ): SyncupError {
    const expected = this.expected;
    let hint = "";
    const recordText = text.slice(start, next);
    if (found < expected) {
      let best = "";
      let bestCount = 0;
      for (const other of COMMON_SEPARATORS) {
        if (other === this.sep) continue;
        const count = recordText.split(other).length - 1;
        if (count > bestCount) {
          best = other;
          bestCount = count;
        }
      }
      if (bestCount > 0) {
        hint = ` (the line contains ${showChar(best)}; is the separator ${showChar(this.sep)} right?)`;
      }
    } else {
      hint = ` (a value that contains ${showChar(this.sep)} must be enclosed in ${showChar(this.quote)})`;
    }
    const position: FilePosition = { file: this.file, line };
    if (found > expected && surplusColumn !== undefined) position.column = surplusColumn;
    return new SyncupError(
      "CSV_RAGGED_ROW",
      `Cannot parse "${this.file}" line ${line}: expected ${expected} fields, found ${found}${hint}`,
      { position },
    );
  }

  private unterminated(line: number, column: number): SyncupError {
    const position = { file: this.file, line, column };
    return new SyncupError(
      "CSV_UNTERMINATED_QUOTE",
      `Cannot parse ${formatPosition(position)}: the quoted field that opens here has no closing quote ` +
        `before the end of the file. Add the closing ${showChar(this.quote)}; a quote inside a quoted ` +
        `field must be doubled (${this.quote}${this.quote}).`,
      { position },
    );
  }

  private badQuote(line: number, column: number, text: string, p: number): SyncupError {
    const position = { file: this.file, line, column };
    const after = String.fromCodePoint(text.codePointAt(p) ?? 0);
    return new SyncupError(
      "CSV_BAD_QUOTE",
      `Cannot parse ${formatPosition(position)}: this quote ends a quoted field but is followed by ` +
        `${showChar(after)} instead of the separator or a line end. Inside a quoted field, write a ` +
        `quote as two quotes (${this.quote}${this.quote}).`,
      { position },
    );
  }

  private tooLarge(): SyncupError {
    const max = this.maxRecordLength;
    const limit = max % (1024 * 1024) === 0 ? `${max / (1024 * 1024)} Mi characters` : `${max} characters`;
    // The fast path gives up on a line without a line end before looking at quotes: look now.
    this.openQuote = undefined;
    this.bridge(Infinity);
    this.hasCR = true;
    if (this.toSkip === 0) this.parseRecord(this.text, 0, this.line, false);
    const openQuote = this.openQuote as { line: number; column: number } | undefined;
    if (openQuote !== undefined) {
      const position = { file: this.file, ...openQuote };
      return new SyncupError(
        "CSV_UNTERMINATED_QUOTE",
        `Cannot parse ${formatPosition(position)}: the quoted field that opens here is still open after ` +
          `${limit}; its closing quote is probably missing (records larger than ${limit} are not supported).`,
        { position },
      );
    }
    const position = { file: this.file, line: this.line };
    return new SyncupError(
      "CSV_RECORD_TOO_LARGE",
      `Cannot parse ${formatPosition(position)}: the record is longer than ${limit} without a line end. ` +
        `Is this a CSV file, and is the encoding right?`,
      { position },
    );
  }
}

/** Index of the first CR or LF at or after `from`; the text's length when there is none. */
function lineBreakFrom(text: string, from: number, hasCR: boolean): number {
  let lf = text.indexOf("\n", from);
  if (lf === -1) lf = text.length;
  if (!hasCR) return lf;
  const cr = text.indexOf("\r", from);
  return cr !== -1 && cr < lf ? cr : lf;
}

function isBlank(text: string, start: number, end: number, sepCode: number): boolean {
  for (let k = start; k < end; k++) {
    const c = text.charCodeAt(k);
    if (c === sepCode || !isCsvWhitespace(c)) return false;
  }
  return true;
}

function trimFields(fields: string[], trimSet: Set<number>): void {
  for (let i = 0; i < fields.length; i++) fields[i] = trimField(fields[i] as string, trimSet);
}

function trimField(value: string, trimSet: Set<number>): string {
  let a = 0;
  let b = value.length;
  while (a < b && trimSet.has(value.charCodeAt(a))) a++;
  while (b > a && trimSet.has(value.charCodeAt(b - 1))) b--;
  return a === 0 && b === value.length ? value : value.slice(a, b);
}

/** 1-based column of `index`, counting code points from `lineStart`. */
function codePointColumn(text: string, lineStart: number, index: number): number {
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

function showChar(c: string): string {
  if (c === "\t") return "a tab";
  return JSON.stringify(c);
}
