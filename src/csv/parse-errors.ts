/**
 * The parser's errors, in one voice: `Cannot parse "ad_entries.csv" line 12: …`, each with its
 * position and, where a likely cause shows in the text, what to change.
 */
import { SyncupError, formatPosition, type FilePosition } from "../errors.js";

/** What the errors name of the file and its format. */
export interface ErrorContext {
  readonly file: string;
  readonly sep: string;
  readonly quote: string;
}

/** Separators that, found in a line with too few fields, suggest that the separator is wrong. */
const COMMON_SEPARATORS = [",", ";", "\t", "|"];

/** A file without a header line. */
export function emptyFile(file: string, skipLines: number): SyncupError {
  const skipped = skipLines > 0 ? ` (after skipping ${skipLines} lines)` : "";
  return new SyncupError("CSV_FILE_EMPTY", `"${file}" is empty: expected a header line${skipped}`, {
    position: { file },
  });
}

/**
 * A record (`text` from `start` to `next`) of `found` fields where the header has `expected`,
 * with a hint: another separator the line holds, or a separator in a value that needs quotes.
 */
export function raggedRow(
  context: ErrorContext,
  expected: number,
  record: { text: string; start: number; next: number; line: number },
  found: number,
  surplusColumn: number | undefined,
): SyncupError {
  const { file, sep, quote } = context;
  const { line } = record;
  let hint = "";
  const recordText = record.text.slice(record.start, record.next);
  if (found < expected) {
    let best = "";
    let bestCount = 0;
    for (const other of COMMON_SEPARATORS) {
      if (other === sep) continue;
      const count = recordText.split(other).length - 1;
      if (count > bestCount) {
        best = other;
        bestCount = count;
      }
    }
    if (bestCount > 0) {
      hint = ` (the line contains ${showChar(best)}; is the separator ${showChar(sep)} right?)`;
    }
  } else {
    hint = ` (a value that contains ${showChar(sep)} must be enclosed in ${showChar(quote)})`;
  }
  const position: FilePosition = { file, line };
  if (found > expected && surplusColumn !== undefined) position.column = surplusColumn;
  return new SyncupError(
    "CSV_RAGGED_ROW",
    `Cannot parse "${file}" line ${line}: expected ${expected} fields, found ${found}${hint}`,
    { position },
  );
}

/** A quoted field that opens at `line`, `column` and never closes. */
export function unterminatedQuote(context: ErrorContext, line: number, column: number): SyncupError {
  const { file, quote } = context;
  const position = { file, line, column };
  return new SyncupError(
    "CSV_UNTERMINATED_QUOTE",
    `Cannot parse ${formatPosition(position)}: the quoted field that opens here has no closing quote ` +
      `before the end of the file. Add the closing ${showChar(quote)}; a quote inside a quoted ` +
      `field must be doubled (${quote}${quote}).`,
    { position },
  );
}

/** A closing quote at `line`, `column` followed (at `p` of `text`) by neither a separator nor a line end. */
export function badQuote(
  context: ErrorContext,
  line: number,
  column: number,
  text: string,
  p: number,
): SyncupError {
  const { file, quote } = context;
  const position = { file, line, column };
  const after = String.fromCodePoint(text.codePointAt(p) ?? 0);
  return new SyncupError(
    "CSV_BAD_QUOTE",
    `Cannot parse ${formatPosition(position)}: this quote ends a quoted field but is followed by ` +
      `${showChar(after)} instead of the separator or a line end. Inside a quoted field, write a ` +
      `quote as two quotes (${quote}${quote}).`,
    { position },
  );
}

function showChar(c: string): string {
  if (c === "\t") return "a tab";
  return JSON.stringify(c);
}
