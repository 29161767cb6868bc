/**
 * Where a large record that the parser could not finish ends, found in the text queued after
 * it without joining that text: the parser then joins the record once, up to its end, instead
 * of parsing it again from a bridge that doubles each time (each bridge a copy of the record so
 * far, which the garbage collector frees late: several times the record's size in memory).
 *
 * A small state machine of the record grammar (`parser.ts`): at a field's start, after trim
 * characters, a quote opens a quoted field; in it a doubled quote is a quote and a single one
 * closes it; outside quotes a separator starts the next field and CR or LF ends the record. It
 * only says where the parser should look: the parser still parses the record (and reports any
 * error in it); a wrong guess costs a retry, never a wrong record.
 */

const LF = 10;
const CR = 13;

/** The scanner's states. */
const State = {
  /** At the start of a field (trim characters may come first). */
  FieldStart: 0,
  /** In an unquoted field. */
  Unquoted: 1,
  /** In a quoted field. */
  Quoted: 2,
  /** Just after a quote inside a quoted field: a doubled quote, or the closing one. */
  QuoteSeen: 3,
  /** After a closing quote and trim characters. */
  Closed: 4,
} as const;
type State = (typeof State)[keyof typeof State];

export interface RecordGrammar {
  readonly separator: string;
  readonly quote: string;
  readonly trim: ReadonlySet<number> | undefined;
}

/** Scans a record's text in pieces, from its start; `end` is where it ends (or -1 so far). */
export class RecordEndFinder {
  private state: State = State.FieldStart;
  private readonly sepCode: number;
  private readonly quoteCode: number;

  constructor(private readonly grammar: RecordGrammar) {
    this.sepCode = grammar.separator.charCodeAt(0);
    this.quoteCode = grammar.quote.charCodeAt(0);
  }

  /**
   * Scans `text` from `from` on, continuing the record; returns the index of the CR or LF that
   * ends the record, or -1 when it goes on beyond `text`.
   */
  scan(text: string, from = 0): number {
    const { separator, quote, trim } = this.grammar;
    const sepCode = this.sepCode;
    const quoteCode = this.quoteCode;
    const n = text.length;
    let state: State = this.state;
    let i = from;
    while (i < n) {
      if (state === State.Quoted) {
        const q = text.indexOf(quote, i);
        if (q === -1) break;
        state = State.QuoteSeen;
        i = q + 1;
        continue;
      }
      if (state === State.Unquoted) {
        // To the next separator or line break (a quote here is a character like any other).
        let s = text.indexOf(separator, i);
        if (s === -1) s = n;
        const stop = lineBreak(text, i, s);
        if (stop < s) {
          this.state = state;
          return stop;
        }
        if (s === n) break;
        state = State.FieldStart;
        i = s + 1;
        continue;
      }
      const c = text.charCodeAt(i);
      if (state === State.QuoteSeen && c === quoteCode) {
        state = State.Quoted;
        i++;
        continue;
      }
      if (c === LF || c === CR) {
        this.state = state;
        return i;
      }
      if (c === sepCode) state = State.FieldStart;
      else if (trim?.has(c) === true) {
        if (state === State.QuoteSeen) state = State.Closed;
      } else if (state === State.FieldStart) state = c === quoteCode ? State.Quoted : State.Unquoted;
      else {
        // Text after a closing quote: an error the parser reports; the record ends here for it.
        this.state = state;
        return i;
      }
      i++;
    }
    this.state = state;
    return -1;
  }
}

/** The first CR or LF in `text[from, to)`, or `to`. */
function lineBreak(text: string, from: number, to: number): number {
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === LF || c === CR) return k;
  }
  return to;
}
