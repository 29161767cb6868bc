/**
 * COPY's text format, both ways: rows encoded for `COPY … FROM STDIN`, and the output of
 * `COPY (query) TO STDOUT` decoded into pages of rows; parameters written as literals, since
 * COPY takes none.
 */
import type pg from "pg";
import { StringDecoder } from "node:string_decoder";
import { batchesOf, type RowSource, type SqlValue } from "../driver.js";

const COPY_CHUNK = 1 << 16;

/**
 * Rows in COPY's text format, encoded a row at a time into chunks of about 64 KiB: strings
 * concatenated into a chunk and encoded on the way to the socket left much garbage behind (at
 * 1M resources, 3 s more of garbage collection).
 */
export async function* copyText(rows: RowSource): AsyncGenerator<Buffer> {
  let chunk = Buffer.allocUnsafe(COPY_CHUNK);
  let at = 0;
  for await (const batch of batchesOf(rows)) {
    for (const row of batch) {
      let line = "";
      for (let i = 0; i < row.length; i++) {
        if (i > 0) line += "\t";
        const value = row[i];
        line +=
          value === null || value === undefined
            ? "\\N"
            : typeof value === "number"
              ? String(value)
              : escapeCopy(String(value));
      }
      line += "\n";
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (at + line.length * 3 > chunk.length) {
        if (at > 0) yield chunk.subarray(0, at);
        chunk = Buffer.allocUnsafe(Math.max(COPY_CHUNK, line.length * 3));
        at = 0;
      }
      at += chunk.write(line, at);
    }
  }
  if (at > 0) yield chunk.subarray(0, at);
}

const COPY_ESCAPES: Readonly<Record<string, string>> = {
  n: "\n",
  t: "\t",
  r: "\r",
  b: "\b",
  f: "\f",
  v: "\v",
};

/** A cell of COPY's text format as its value's text (COPY TO writes no octal or hex escapes). */
function unescapeCopy(cell: string): string {
  return cell.includes("\\") ? cell.replace(/\\(.)/gs, (_, c: string) => COPY_ESCAPES[c] ?? c) : cell;
}

/** A parameter as an SQL literal, for the statements that take none (COPY). */
export function literal(client: pg.Client, value: SqlValue | undefined): string {
  if (value === undefined) throw new Error("fewer parameters than placeholders");
  if (value === null) return "NULL";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`${value} is not a number SQL can hold`);
    return `(${value})`;
  }
  return client.escapeLiteral(value);
}

function escapeCopy(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) =>
        c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
      )
    : text;
}

/**
 * The rows of COPY TO's output in pages of `pageSize`: each cell parsed by its column's parser
 * (`\\N` is null), each row an object keyed by the column names.
 */
export async function* copyPages<T>(
  copy: AsyncIterable<Buffer>,
  names: readonly string[],
  parsers: readonly ((text: string) => unknown)[],
  pageSize: number,
): AsyncGenerator<T[]> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  let page: T[] = [];
  for await (const chunk of copy) {
    const text = rest + decoder.write(chunk);
    const end = text.lastIndexOf("\n");
    rest = text.slice(end + 1);
    for (let start = 0; start < end;) {
      const newline = text.indexOf("\n", start);
      const cells = text.slice(start, newline).split("\t");
      start = newline + 1;
      const row: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) {
        const cell = cells[i]!;
        row[names[i]!] = cell === "\\N" ? null : parsers[i]!(unescapeCopy(cell));
      }
      page.push(row as T);
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
  }
  if (rest + decoder.end() !== "") throw new Error("COPY TO ended in the middle of a row");
  if (page.length > 0) yield page;
}
