import { SyncupError, formatPosition, type FilePosition } from "../errors.js";
import { isCsvWhitespace, type CsvFormat } from "./format.js";
import { joinText } from "./join-text.js";
import { RecordEndFinder } from "./record-end.js";
import { codePointColumn, recordTooLarge } from "./record-limit.js";

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
  private readonly maxRecordSetting: string | undefined;
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
  /** While a large record waits for its end: where the queued text has been scanned to. */
  private finder: RecordEndFinder | undefined;
  private scannedParts = 0;
  private scannedChars = 0;
  /** Whether parsing stopped at a record that needs more text. */
  private incomplete = false;
  private finished = false;

  constructor(
    readonly file: string,
    format: CsvFormat,
    options: {
      maxRecordLength?: number | undefined;
      /** The setting that raises the limit, named in the error (e.g. "prepare.maxRecordMiB"). */
      maxRecordSetting?: string | undefined;
      batchChars?: number | undefined;
    } = {},
  ) {
    this.sep = format.separator;
    this.sepCode = format.separator.charCodeAt(0);
    this.quote = format.quote;
    this.quoteCode = format.quote.charCodeAt(0);
    this.trimSet = format.trim === "" ? undefined : new Set([...format.trim].map((c) => c.charCodeAt(0)));
    this.skipLines = format.skipLines;
    this.toSkip = format.skipLines;
    this.maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
    this.maxRecordSetting = options.maxRecordSetting;
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
            // Let the last text go: it may be a large record's.
            this.setText("");
          }
          return undefined;
        }
      } else if (restLength === 0) {
        this.setText(this.takePart());
      } else {
        // A record continues in the queued text: parse it from a bridge of its start and the
        // queued text up to a line end. A record that starts the text already failed a bridge (a
        // quoted field of many lines must not be parsed again at each line), and a large one is
        // joined up to where `RecordEndFinder` sees it end, once that is queued.
        let more = restLength > LARGE_RECORD || this.pos === 0 ? restLength : 0;
        if (!final && this.partsLength < more && restLength + this.partsLength <= this.maxRecordLength) {
          const end = this.queuedRecordEnd();
          if (end < 0) return undefined;
          more = end;
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

  /**
   * Where the unfinished record at `pos` ends in the queued text (characters from the queue's
   * start), or -1 when it does not end there. Scans each queued part once.
   */
  private queuedRecordEnd(): number {
    if (this.toSkip > 0) return -1;
    let finder = this.finder;
    if (finder === undefined) {
      finder = new RecordEndFinder({ separator: this.sep, quote: this.quote, trim: this.trimSet });
      this.finder = finder;
      this.scannedParts = 0;
      this.scannedChars = 0;
      // It ends in the text already (a CR at its very end, waiting for what follows): bridge to a line end.
      if (finder.scan(this.text, this.pos) >= 0) return 0;
    }
    while (this.scannedParts < this.parts.length) {
      const part = this.parts[this.scannedParts] as string;
      const end = finder.scan(part);
      if (end >= 0) return this.scannedChars + end;
      this.scannedChars += part.length;
      this.scannedParts++;
    }
    return -1;
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
    const rest = this.pos === 0 ? this.text : this.text.slice(this.pos);
    const pieces = [rest];
    let total = rest.length;
    let taken = 0;
    while (this.parts.length > 0) {
      const part = this.parts[0] as string;
      const from = more - taken;
      const lf = from < part.length ? part.indexOf("\n", Math.max(0, from)) : -1;
      if (lf === -1) {
        pieces.push(this.takePart());
        total += part.length;
        taken += part.length;
        continue;
      }
      pieces.push(part.slice(0, lf + 1));
      total += lf + 1;
      this.parts[0] = part.slice(lf + 1);
      this.partsLength -= lf + 1;
      if (lf + 1 === part.length) this.parts.shift();
      break;
    }
    // Let go of the old text before the new one is made (it may be a large record's).
    this.text = "";
    this.setText(joinText(pieces, total));
  }

  private setText(text: string): void {
    this.text = text;
    this.finder = undefined;
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
    const maxRecordLength = this.maxRecordLength;
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
        if (next - pos > maxRecordLength) throw this.recordTooLarge(text, pos, line, true);
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
        if (record.next - pos > maxRecordLength) throw this.recordTooLarge(text, pos, line, true);
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
    // The next LF and CR at or after where they were last looked for (n: none): a field of many
    // quotes and no line break must not look for one again at each quote.
    let nextLF = -1;
    let nextCR = -1;
    const lineBreakFrom = (from: number): number => {
      if (nextLF < from) {
        nextLF = text.indexOf("\n", from);
        if (nextLF === -1) nextLF = n;
      }
      if (!hasCR) return nextLF;
      if (nextCR < from) {
        nextCR = text.indexOf("\r", from);
        if (nextCR === -1) nextCR = n;
      }
      return nextCR < nextLF ? nextCR : nextLF;
    };
    let lineEnd = lineBreakFrom(start); // first CR or LF of the current line (n: none)
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
        // The value is cut once the closing quote is found: joining the pieces between doubled
        // quotes as they come would build a string of millions of pieces for a large field.
        let value: string;
        let doubled = false;
        let c = s + 1;
        for (;;) {
          const qi = text.indexOf(quote, c);
          if (qi === -1) {
            if (final) throw this.unterminated(openLine, codePointColumn(text, lineStart, s));
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
            lineEnd = lineBreakFrom(qi);
          }
          if (qi + 1 >= n) {
            if (!final) return undefined;
          } else if (text.charCodeAt(qi + 1) === quoteCode) {
            doubled = true;
            c = qi + 2;
            continue;
          }
          value = text.slice(s + 1, qi);
          if (doubled) value = undouble(value, quote);
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

  /** The incomplete record at `pos` is longer than the limit. */
  private tooLarge(): SyncupError {
    this.bridge(Infinity);
    return this.recordTooLarge(this.text, 0, this.line, false);
  }

  private recordTooLarge(text: string, start: number, line: number, complete: boolean): SyncupError {
    return recordTooLarge(
      {
        file: this.file,
        text,
        start,
        line,
        complete,
        separator: this.sep,
        quote: this.quote,
        trim: this.trimSet,
        header: this.header,
      },
      { maxRecordLength: this.maxRecordLength, setting: this.maxRecordSetting },
    );
  }
}

/** Quoted values longer than this are undoubled a window at a time. */
const UNDOUBLE_WINDOW = 64 * 1024;

/**
 * A quoted value's text with each doubled quote made single. Every quote in it is half of a
 * pair, found left to right (as the scanner found them). A large value goes a window at a time,
 * each made one flat string by split and join: `replaceAll` would build a string of millions
 * of pieces (tens of bytes each) for a field of many quotes.
 */
function undouble(text: string, quote: string): string {
  const pair = quote + quote;
  if (text.length <= UNDOUBLE_WINDOW) return text.replaceAll(pair, quote);
  const out: string[] = [];
  let total = 0;
  for (let from = 0; from < text.length;) {
    let to = Math.min(text.length, from + UNDOUBLE_WINDOW);
    // Cut just after a character that is not a quote: a run of quotes (whole pairs) stays whole.
    while (to < text.length && text.charCodeAt(to - 1) === quote.charCodeAt(0)) to++;
    const window = text.slice(from, to).split(pair).join(quote);
    out.push(window);
    total += window.length;
    from = to;
  }
  return joinText(out, total);
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

function showChar(c: string): string {
  if (c === "\t") return "a tab";
  return JSON.stringify(c);
}
