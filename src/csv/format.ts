import { SyncupError } from "../errors.js";

/** The encodings a CSV file can be read in. "utf-16" detects LE/BE by the byte order mark (LE without one). */
export type CsvEncoding = "utf-8" | "utf-16le" | "utf-16be" | "utf-16" | "latin1" | "windows-1252";

export const CSV_ENCODINGS: readonly CsvEncoding[] = [
  "utf-8",
  "utf-16le",
  "utf-16be",
  "utf-16",
  "latin1",
  "windows-1252",
];

/** How a CSV file is laid out. */
export interface CsvFormat {
  /** Field separator, one character. */
  separator: string;
  /** Quote character, one character. */
  quote: string;
  /** Character encoding of the file. A byte order mark is stripped (utf-8, utf-16*). */
  encoding: CsvEncoding;
  /** Physical lines skipped before the header line. */
  skipLines: number;
  /** Characters trimmed from both ends of every unquoted field and of header names; "" = none. */
  trim: string;
}

export const DEFAULT_CSV_FORMAT: Readonly<CsvFormat> = Object.freeze({
  separator: ";",
  quote: '"',
  encoding: "utf-8",
  skipLines: 0,
  trim: "",
});

/**
 * Completes a partial format with the defaults and checks it. Configuration validation should
 * already have caught these mistakes; this is the last line of defence (CONFIG_INVALID).
 */
export function resolveCsvFormat(format: Partial<CsvFormat> = {}): CsvFormat {
  const resolved: CsvFormat = { ...DEFAULT_CSV_FORMAT };
  for (const key of Object.keys(format) as (keyof CsvFormat)[]) {
    const value = format[key];
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  const problems: string[] = [];
  const oneChar = (name: string, value: string): void => {
    if (value.length !== 1 || isLineBreak(value.charCodeAt(0)) || isSurrogate(value.charCodeAt(0))) {
      problems.push(
        `${name} must be exactly one character other than CR or LF, got ${JSON.stringify(value)}`,
      );
    }
  };
  oneChar("separator", resolved.separator);
  oneChar("quote", resolved.quote);
  if (resolved.separator === resolved.quote) problems.push("separator and quote must differ");
  if (!CSV_ENCODINGS.includes(resolved.encoding)) {
    problems.push(
      `encoding must be one of ${CSV_ENCODINGS.join(", ")}, got ${JSON.stringify(resolved.encoding)}`,
    );
  }
  if (!Number.isInteger(resolved.skipLines) || resolved.skipLines < 0) {
    problems.push(`skipLines must be a whole number >= 0, got ${String(resolved.skipLines)}`);
  }
  for (let i = 0; i < resolved.trim.length; i++) {
    const c = resolved.trim.charCodeAt(i);
    const ch = resolved.trim.charAt(i);
    if (isLineBreak(c) || isSurrogate(c) || ch === resolved.separator || ch === resolved.quote) {
      problems.push(
        `trim must not contain CR, LF, the separator, the quote or characters beyond U+FFFF, got ${JSON.stringify(resolved.trim)}`,
      );
      break;
    }
  }
  if (problems.length > 0) {
    throw new SyncupError("CONFIG_INVALID", `Invalid CSV format: ${problems.join("; ")}`, {
      details: problems,
    });
  }
  return resolved;
}

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13;
}

function isSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdfff;
}

/**
 * Whitespace as JavaScript's `\s` knows it. Lines made only of these (outside quotes, the
 * separator excepted) are blank and skipped; the writer quotes fields that start or end with one.
 */
export function isCsvWhitespace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
