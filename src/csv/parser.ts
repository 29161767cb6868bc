import type { SyncupError } from "../errors.js";
import type { CsvFormat } from "./format.js";
import { joinText } from "./join-text.js";
import { emptyFile, raggedRow } from "./parse-errors.js";
import { isBlankLine, splitLine, surplusColumnOfLine, trimFields } from "./plain-line.js";
import { QuotedRecordScanner, type CsvSyntax, type QuotedRecord } from "./quoted-record.js";
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
/**
 * The CSV record parser: fed decoded text in pieces of any size, it hands out the complete records
 * in batches and keeps the incomplete rest. Pure (no I/O); `openCsv` drives it:
 *
 *     parser.push(text);
 *     for (let rows; (rows = parser.next()) !== undefined; ) use(rows);
 *     ... and at the end of the input: for (let rows; (rows = parser.next(true)) !== undefined; ) use(rows);
 *
 * Hot path: a physical line without a quote is cut with `indexOf` on the decoded text. Lines with
 * a quote go through a quote-aware scanner that may span lines (`quoted-record.ts`). Text before
 * `pos` has been parsed; `pos` is always at the start of a physical line (numbered `line`).
 */
export class CsvParser {
  header: string[] | undefined;
  headerLine = 0;

  private readonly syntax: CsvSyntax;
  private readonly quoted: QuotedRecordScanner;
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
    this.syntax = {
      file,
      sep: format.separator,
      sepCode: format.separator.charCodeAt(0),
      quote: format.quote,
      quoteCode: format.quote.charCodeAt(0),
      trimSet: format.trim === "" ? undefined : new Set([...format.trim].map((c) => c.charCodeAt(0))),
    };
    this.quoted = new QuotedRecordScanner(this.syntax);
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
            if (this.header === undefined) throw emptyFile(this.file, this.skipLines);
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
      const { sep, quote, trimSet } = this.syntax;
      finder = new RecordEndFinder({ separator: sep, quote, trim: trimSet });
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
    const limit = this.pos + this.batchChars;
    this.incomplete = false;
    if (this.toSkip > 0 && !this.skipLeadingLines(final)) {
      this.incomplete = true;
      return rows;
    }
    const text = this.text;
    const n = text.length;
    let pos = this.pos;
    let line = this.line;
    const { sep, sepCode, quote, trimSet } = this.syntax;
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
      let fields: string[];
      let nextLine = line + 1;
      let record: QuotedRecord | undefined;
      if (q >= end) {
        // A line without quotes.
        if (end === pos || isBlankLine(text, pos, end, sepCode)) {
          pos = next;
          line++;
          continue;
        }
        if (next - pos > maxRecordLength) throw this.recordTooLarge(text, pos, line, true);
        fields = splitLine(text, pos, end, sep, expected);
        if (trimSet !== undefined) trimFields(fields, trimSet);
      } else {
        record = this.quoted.scan(text, pos, line, final, expected, this.hasCR);
        if (record === undefined) break;
        if (record.next - pos > maxRecordLength) throw this.recordTooLarge(text, pos, line, true);
        fields = record.fields;
        next = record.next;
        nextLine = record.endLine + 1;
      }
      if (fields.length === expected) {
        rows.push({ fields, line });
      } else if (expected < 0) {
        expected = this.setHeader(fields, line);
        if (untilHeader) {
          pos = next;
          line = nextLine;
          stoppedAtHeader = true;
          break;
        }
      } else {
        const surplus =
          record === undefined ? surplusColumnOfLine(text, pos, end, sep, expected) : record.surplusColumn;
        throw this.ragged(text, pos, next, line, fields.length, surplus);
      }
      pos = next;
      line = nextLine;
    }
    this.incomplete = pos < n && pos < limit && !stoppedAtHeader;
    this.pos = pos;
    this.line = line;
    this.nextQuote = q;
    this.nextCR = cr;
    return rows;
  }

  /**
   * Skips the lines before the header: physical lines, quotes are not looked at. False when
   * a line to skip does not end in the text yet.
   */
  private skipLeadingLines(final: boolean): boolean {
    const text = this.text;
    const n = text.length;
    while (this.toSkip > 0 && this.pos < n) {
      const pos = this.pos;
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
      this.pos = next;
      this.line++;
      this.toSkip--;
    }
    return this.toSkip === 0 || this.pos >= n;
  }

  private setHeader(fields: string[], line: number): number {
    this.header = fields;
    this.headerLine = line;
    this.expected = fields.length;
    return fields.length;
  }

  private ragged(
    text: string,
    start: number,
    next: number,
    line: number,
    found: number,
    surplusColumn: number | undefined,
  ): SyncupError {
    return raggedRow(this.syntax, this.expected, { text, start, next, line }, found, surplusColumn);
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
        separator: this.syntax.sep,
        quote: this.syntax.quote,
        trim: this.syntax.trimSet,
        header: this.header,
      },
      { maxRecordLength: this.maxRecordLength, setting: this.maxRecordSetting },
    );
  }
}
