/**
 * The parser's slow path: a record with a quote in it, whose quoted fields may hold separators,
 * doubled quotes and line breaks (RFC 4180). The scanner is made once per parser and keeps only
 * numbers between records, so that a record costs its fields and nothing more.
 */
import { badQuote, unterminatedQuote, type ErrorContext } from "./parse-errors.js";
import { joinText } from "./join-text.js";
import { trimField } from "./plain-line.js";
import { codePointColumn } from "./record-limit.js";

const LF = 10;
const CR = 13;

/** What the scanner reads a record with: the format's characters, and the file for errors. */
export interface CsvSyntax extends ErrorContext {
  readonly sepCode: number;
  readonly quoteCode: number;
  readonly trimSet: Set<number> | undefined;
}

export interface QuotedRecord {
  fields: string[];
  /** Index after the record's line end. */
  next: number;
  /** Physical line of the record's last line. */
  endLine: number;
  /** Column of the first field beyond the header's count, when it is on the record's first line. */
  surplusColumn: number | undefined;
}

export class QuotedRecordScanner {
  /** Whether the text has a CR at all (else line ends are found with LF alone). */
  private hasCR = false;
  /** The physical line being read, where it starts, and its first CR or LF (length: none). */
  private curLine = 0;
  private lineStart = 0;
  private lineEnd = 0;
  /**
   * The next LF and CR at or after where they were last looked for (length: none): a field of
   * many quotes and no line break must not look for one again at each quote.
   */
  private nextLF = -1;
  private nextCR = -1;
  /** Just after the closing quote of the last quoted value. */
  private after = 0;

  constructor(private readonly syntax: CsvSyntax) {}

  /**
   * Parses one record that contains a quote, starting at `start` (a line start, numbered `line`);
   * `expected` is the header's count of fields (-1 before it). Returns undefined when the text
   * ends before the record does (and more text may follow).
   */
  scan(
    text: string,
    start: number,
    line: number,
    final: boolean,
    expected: number,
    hasCR: boolean,
  ): QuotedRecord | undefined {
    const n = text.length;
    const { sep, sepCode, quoteCode, trimSet } = this.syntax;
    this.hasCR = hasCR;
    this.curLine = line;
    this.lineStart = start;
    this.nextLF = -1;
    this.nextCR = -1;
    this.lineEnd = this.lineBreakFrom(text, start);
    const fields: string[] = [];
    let p = start;
    let surplusColumn: number | undefined;
    let next: number;
    record: for (;;) {
      if (fields.length === expected && this.curLine === line) {
        surplusColumn = codePointColumn(text, this.lineStart, p);
      }
      let s = p;
      if (trimSet !== undefined) while (s < n && trimSet.has(text.charCodeAt(s))) s++;
      if (s < n && text.charCodeAt(s) === quoteCode) {
        const value = this.quotedValue(text, s, final);
        if (value === undefined) return undefined;
        p = this.after;
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
        throw badQuote(this.syntax, this.curLine, codePointColumn(text, this.lineStart, closing), text, p);
      } else {
        const lineEnd = this.lineEnd;
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
    return { fields, next, endLine: this.curLine, surplusColumn };
  }

  /**
   * The value of the quoted field whose opening quote is at `s`, its doubled quotes made single;
   * `after` is set just past its closing quote. Undefined when the text ends before the field
   * does (and more text may follow). The value is cut once the closing quote is found: joining
   * the pieces between doubled quotes as they come would build a string of millions of pieces
   * for a large field.
   */
  private quotedValue(text: string, s: number, final: boolean): string | undefined {
    const n = text.length;
    const { quote, quoteCode } = this.syntax;
    const openLine = this.curLine;
    let doubled = false;
    for (let c = s + 1; ;) {
      const qi = text.indexOf(quote, c);
      if (qi === -1) {
        if (final) throw unterminatedQuote(this.syntax, openLine, codePointColumn(text, this.lineStart, s));
        return undefined;
      }
      if (this.lineEnd < qi) {
        this.countLineBreaks(text, qi);
        this.lineEnd = this.lineBreakFrom(text, qi);
      }
      if (qi + 1 >= n) {
        if (!final) return undefined;
      } else if (text.charCodeAt(qi + 1) === quoteCode) {
        doubled = true;
        c = qi + 2;
        continue;
      }
      this.after = qi + 1;
      const value = text.slice(s + 1, qi);
      return doubled ? undouble(value, quote) : value;
    }
  }

  /** Counts the line breaks inside a quoted field, from the current line's end up to `to`. */
  private countLineBreaks(text: string, to: number): void {
    if (this.hasCR) {
      for (let k = this.lineEnd; k < to; k++) {
        const ch = text.charCodeAt(k);
        if (ch === LF || (ch === CR && text.charCodeAt(k + 1) !== LF)) {
          this.curLine++;
          this.lineStart = k + 1;
        }
      }
    } else {
      for (let k = this.lineEnd; k !== -1 && k < to; k = text.indexOf("\n", k + 1)) {
        this.curLine++;
        this.lineStart = k + 1;
      }
    }
  }

  /** The first CR or LF at or after `from` (the text's length: none). */
  private lineBreakFrom(text: string, from: number): number {
    const n = text.length;
    if (this.nextLF < from) {
      this.nextLF = text.indexOf("\n", from);
      if (this.nextLF === -1) this.nextLF = n;
    }
    if (!this.hasCR) return this.nextLF;
    if (this.nextCR < from) {
      this.nextCR = text.indexOf("\r", from);
      if (this.nextCR === -1) this.nextCR = n;
    }
    return this.nextCR < this.nextLF ? this.nextCR : this.nextLF;
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
