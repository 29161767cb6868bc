/** Helpers of the connector tests: temporary folders, export contexts, reading the CSV files back. */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Papa from "papaparse";
import type { Mode } from "../../src/config/config.js";
import type {
  NativeConnector,
  NativeExportContext,
  NativeExportResult,
} from "../../src/connectors/native.js";

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `syncup-${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface CsvTable {
  header: string[];
  rows: string[][];
}

/** Reads a file the connectors write (UTF-8, ";", a header line, RFC 4180 quoting). */
export async function readCsv(path: string): Promise<CsvTable> {
  const text = await readFile(path, "utf8");
  const parsed = Papa.parse<string[]>(text, { delimiter: ";", newline: "\n", quoteChar: '"' });
  if (parsed.errors.length > 0) throw new Error(`${path}: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  const data = parsed.data;
  if (data.length > 0 && data[data.length - 1]?.length === 1 && data[data.length - 1]?.[0] === "") data.pop();
  const [header, ...rows] = data;
  if (header === undefined) throw new Error(`${path} has no header line`);
  for (const [i, row] of rows.entries()) {
    if (row.length !== header.length) throw new Error(`${path} row ${i + 2} has ${row.length} fields`);
  }
  return { header, rows };
}

/** Rows as objects keyed by column name. */
export function records(table: CsvTable): Record<string, string>[] {
  return table.rows.map((row) => Object.fromEntries(table.header.map((h, i) => [h, row[i] ?? ""])));
}

/** One export run's folders: a fresh output folder, a state folder kept across runs. */
export class ExportRun {
  readonly logs: string[] = [];
  readonly progress: [string, number, number][] = [];

  constructor(
    readonly root: string,
    readonly connection: string,
    readonly env: Record<string, string | undefined> = {},
  ) {}

  get stateDir(): string {
    return join(this.root, "state");
  }

  /** Runs an export into a new output folder; returns the result and the folder. */
  async run<S>(
    connector: NativeConnector<S>,
    settings: S,
    mode: Mode,
  ): Promise<NativeExportResult & { outputDir: string; file: (table: string) => string }> {
    await mkdir(this.stateDir, { recursive: true });
    const outputDir = await mkdtemp(join(this.root, "out-"));
    const ctx: NativeExportContext = {
      connection: this.connection,
      connector: "TEST",
      mode,
      outputDir,
      stateDir: this.stateDir,
      env: this.env,
      onProgress: (table, done, total) => this.progress.push([table, done, total]),
      log: (line) => this.logs.push(line),
    };
    const result = await connector.export(settings, ctx);
    return { ...result, outputDir, file: (table) => join(outputDir, `${this.connection}_${table}.csv`) };
  }
}

/**
 * Applies an incremental file (a `command` column first) to the rows of a complete one, keyed
 * by the first `keyWidth` columns, as prepare and synchronize would.
 */
export function applyChanges(complete: CsvTable, changes: CsvTable, keyWidth: number): CsvTable {
  if (changes.header[0] !== "command") throw new Error("the changes have no command column");
  const header = changes.header.slice(1);
  if (JSON.stringify(header) !== JSON.stringify(complete.header)) throw new Error("headers differ");
  const rows = new Map(complete.rows.map((r) => [JSON.stringify(r.slice(0, keyWidth)), r]));
  for (const [command, ...row] of changes.rows) {
    const key = JSON.stringify(row.slice(0, keyWidth));
    if (command === "delete") {
      if (!rows.delete(key)) throw new Error(`delete of an unknown key ${key}`);
    } else if (command === "insert") {
      if (rows.has(key)) throw new Error(`insert of a known key ${key}`);
      rows.set(key, row);
    } else if (command === "update") {
      if (!rows.has(key)) throw new Error(`update of an unknown key ${key}`);
      rows.set(key, row);
    } else {
      throw new Error(`unexpected command ${String(command)}`);
    }
  }
  return { header, rows: [...rows.values()] };
}

/** The rows sorted (for comparisons that ignore order). */
export function sortedRows(table: CsvTable): string[][] {
  return [...table.rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}
