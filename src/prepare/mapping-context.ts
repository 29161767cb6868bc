/**
 * What the steps of one mapping's prepare share: the mapping's context (its source, columns
 * and outputs), the projection of the source's rows, and the writers of the outputs.
 */
import { join } from "node:path";
import type { Config, MappingDef } from "../config/config.js";
import type { CsvReader } from "../csv/reader.js";
import { CsvFileWriter } from "../csv/writer.js";
import { parseCommand } from "../core/change-collapse.js";
import { keyLimitCheck } from "../core/key-limits.js";
import type { KeyNormalizer } from "../core/key-normalizer.js";
import { SyncupError } from "../errors.js";
import { preparedFileName, type PreparedKind } from "./layout.js";
import type { PrepareOptions } from "./prepare.js";

/** The canonical format of files syncup writes and reads back. */
export const CANONICAL = { separator: ";" } as const;

export interface MappingContext {
  readonly config: Config;
  readonly connector: string;
  readonly dir: string;
  readonly mapping: MappingDef;
  readonly reader: CsvReader;
  /** Source positions of the mapping's columns, key columns first. */
  readonly columns: readonly number[];
  /** Per mapped column (same order): how its key is normalized, if it is (`core/key-normalizer.ts`). */
  readonly normalizers: readonly (KeyNormalizer | undefined)[];
  readonly writers: Map<PreparedKind, CsvFileWriter>;
  readonly options: PrepareOptions;
  /** Opens a canonical CSV file, closed when the prepare ends. */
  readonly open: (path: string) => Promise<CsvReader>;
}

export function keyColumnsOf(mapping: MappingDef): 1 | 2 {
  return mapping.kind === "association" ? 2 : 1;
}

export async function openWriter(
  ctx: MappingContext,
  kind: PreparedKind,
  header: readonly string[],
): Promise<CsvFileWriter> {
  const writer = await CsvFileWriter.open(
    join(ctx.dir, preparedFileName(ctx.mapping.name, kind)),
    header,
    CANONICAL,
  );
  ctx.writers.set(kind, writer);
  return writer;
}

/**
 * Reads the source, projects the mapped columns and yields the rows that have a key (the
 * first `keyCount` columns non-empty), writing the others (with their source line) to
 * `.nullpk.csv`.
 */
export async function* projectRows(
  ctx: MappingContext,
  nullpk: CsvFileWriter,
  counts: { read: number; nullKeys: number },
  extra: (fields: readonly string[], line: number) => string | undefined = () => undefined,
  keyCount: number = keyColumnsOf(ctx.mapping),
): AsyncGenerator<string[][]> {
  const columns = ctx.columns;
  const width = columns.length;
  const normalizers = ctx.normalizers;
  const checkKeys = keyLimitCheck(ctx.mapping, columns, ctx.reader.file);
  // A mapping of every column in the source's order, none normalized, takes the parsed rows
  // as they are: a copy of each would be garbage the moment the sort has stored it.
  const asParsed = columns.every((c, i) => c === i) && normalizers.every((n) => n === undefined);
  for await (const batch of ctx.reader.rows) {
    const out: string[][] = [];
    for (const row of batch) {
      counts.read++;
      const fields = row.fields;
      let projected: string[];
      if (asParsed && fields.length === width) projected = fields;
      else {
        projected = new Array<string>(width);
        for (let i = 0; i < width; i++) projected[i] = fields[columns[i] as number] as string;
        for (let i = 0; i < normalizers.length; i++) {
          const normalize = normalizers[i];
          if (normalize !== undefined) projected[i] = normalize(projected[i] as string);
        }
      }
      checkKeys(projected, row.line);
      let hasKey = true;
      for (let i = 0; i < keyCount; i++) if (projected[i] === "") hasKey = false;
      const tail = extra(fields, row.line);
      if (!hasKey) {
        counts.nullKeys++;
        await write(nullpk, [String(row.line), ...projected, ...(tail === undefined ? [] : [tail])]);
        continue;
      }
      if (tail !== undefined) projected.push(tail);
      out.push(projected);
    }
    ctx.options.onProgress?.(ctx.mapping.name, ctx.reader.bytesRead(), ctx.reader.size);
    if (out.length > 0) yield out;
  }
}

export function checkHeader(reader: CsvReader, header: readonly string[]): void {
  if (reader.header.length !== header.length || reader.header.some((h, i) => h !== header[i])) {
    throw new SyncupError(
      "PREVIOUS_INVALID",
      `"${reader.file}" has columns ${reader.header.join(", ")} but the mapping now has ${header.join(", ")}: the mapping changed since the last accepted run. Run a complete synchronization.`,
    );
  }
}

export async function* fieldsOf(reader: CsvReader): AsyncGenerator<string[][]> {
  for await (const batch of reader.rows) yield batch.map((row) => row.fields);
}

export async function write(writer: CsvFileWriter, fields: readonly string[]): Promise<void> {
  const pending = writer.write(fields);
  if (pending !== undefined) await pending;
}

export async function writeAll(writer: CsvFileWriter, rows: readonly (readonly string[])[]): Promise<void> {
  for (const row of rows) {
    const pending = writer.write(row);
    if (pending !== undefined) await pending;
  }
}

/** Reads a row's `command` cell, or throws DELTA_BAD_COMMAND naming the file, line and column. */
export function commandReader(
  file: string,
  commandIndex: number,
): (fields: readonly string[], line: number) => string {
  return (fields, line) => {
    const text = fields[commandIndex] ?? "";
    const command = parseCommand(text);
    if (command === undefined) {
      throw new SyncupError(
        "DELTA_BAD_COMMAND",
        `"${file}" line ${line}, column ${commandIndex + 1}: "${text}" is not a command; use insert, update, delete or merge (add means insert).`,
        { position: { file, line, column: commandIndex + 1 } },
      );
    }
    return command;
  };
}

/** Writes the rows of a diff against `previous/` to `.sorted.delta`; returns how many of each command. */
export async function writeDelta(
  writer: CsvFileWriter,
  changes: AsyncIterable<readonly { command: string; fields: readonly string[] }[]>,
): Promise<{ inserts: number; updates: number; deletes: number }> {
  const delta = { inserts: 0, updates: 0, deletes: 0 };
  for await (const batch of changes) {
    for (const change of batch) {
      if (change.command === "insert") delta.inserts++;
      else if (change.command === "update") delta.updates++;
      else delta.deletes++;
      await write(writer, [change.command, ...change.fields]);
    }
  }
  return delta;
}
