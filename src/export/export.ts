/**
 * Export: reads what each connection of a connector produces and writes the CSV source
 * files `<exportDir>/<connection>_<table>.csv` (UTF-8, ";", a header line), checking the
 * input on the way (encoding, quoting, ragged rows). All files of a connector are written to
 * temporary names first and renamed only when every one of them was read without error, so
 * a bad input leaves the previous export in place.
 */
import { mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type {
  CommandConnectionDef,
  Config,
  ConnectionDef,
  ConnectorDef,
  CsvConnectionDef,
  CsvTableDef,
  Mode,
  NativeConnectionDef,
} from "../config/config.js";
import { requireConnector } from "../config/require-connector.js";
import { openCsv } from "../csv/reader.js";
import { CsvFileWriter } from "../csv/writer.js";
import { SyncupError } from "../errors.js";
import { nativeConnector } from "../connectors/index.js";
import { withConnectorLock } from "../support/connector-lock.js";
import { findNewestFile } from "./find-file.js";
import { runCommand } from "./run-command.js";

export interface ExportedFile {
  readonly table: string;
  readonly source: string;
  readonly output: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface ExportReport {
  readonly connector: string;
  readonly mode: Mode;
  readonly files: readonly ExportedFile[];
  readonly commands: readonly { connection: string; seconds: number; stderrTail: string }[];
  /**
   * Advances the native connectors' incremental state (watermarks, key listings). Already
   * done unless `deferStateCommit` was set; then call it once the batch was accepted.
   */
  readonly commitState: () => Promise<void>;
}

export interface ExportOptions {
  /** Called as bytes of a source file are read, for progress bars. */
  readonly onProgress?: (table: string, bytesRead: number, size: number) => void;
  /**
   * Leave the native connectors' incremental state where it was until the caller calls
   * `commitState` (after the synchronization applied the batch), so that a failed prepare
   * or synchronization never loses changes.
   */
  readonly deferStateCommit?: boolean;
  /** Diagnostic lines of native connectors. */
  readonly log?: (line: string) => void;
  /** Environment for secrets referenced by native connectors; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Exports every connection table of `connectorName` into `config.exportDir`. */
export async function exportConnector(
  config: Config,
  connectorName: string,
  mode: Mode,
  options: ExportOptions = {},
): Promise<ExportReport> {
  const connector = requireConnector(config, connectorName);
  return withConnectorLock(config.workDir, connector.name, "export", () =>
    exportLocked(config, connector, mode, options),
  );
}

/** One connector's export under way: what it runs on. */
interface ExportJob {
  readonly config: Config;
  readonly connector: ConnectorDef;
  readonly mode: Mode;
  readonly options: ExportOptions;
}

/** What the export gathers before it renames every file into place, or throws it all away. */
interface Staged {
  /** Canonical copies of csv and command files, written under temporary names. */
  readonly pending: { writer: CsvFileWriter; table: string; source: string }[];
  readonly commands: ExportReport["commands"][number][];
  /** Files a native connector wrote into a scratch folder, renamed into place last. */
  readonly moves: { from: string; to: string; table: string; rows: number }[];
  /** The native connectors' state commits (watermarks, key listings). */
  readonly commits: (() => Promise<void>)[];
  /** Scratch folders, removed whatever happens. */
  readonly scratch: string[];
}

/** Where a table's source file is, once its connection produced it. */
type SourceOf = (table: CsvTableDef) => Promise<string>;

async function exportLocked(
  config: Config,
  connector: ConnectorDef,
  mode: Mode,
  options: ExportOptions,
): Promise<ExportReport> {
  const job: ExportJob = { config, connector, mode, options };
  await mkdir(config.exportDir, { recursive: true });
  const staged: Staged = { pending: [], commands: [], moves: [], commits: [], scratch: [] };
  try {
    for (const connection of Object.values(connector.connections)) {
      const tables = Object.values(connector.tables).filter((t) => t.connection === connection.name);
      if (connection.type === "native") {
        await exportNative(job, connection, tables, staged);
        continue;
      }
      const sourceOf =
        connection.type === "csv"
          ? csvSource(job, connection)
          : await runExportCommand(job, connection, staged);
      for (const table of tables) {
        const source = await sourceOf(table);
        staged.pending.push({
          writer: await copyTable(table, source, config.exportDir, options),
          table: table.name,
          source,
        });
      }
    }
    const files = await commitFiles(staged);
    const commitState = async () => {
      for (const commit of staged.commits.splice(0)) await commit();
    };
    if (options.deferStateCommit !== true) await commitState();
    return { connector: connector.name, mode, files, commands: staged.commands, commitState };
  } catch (error) {
    await Promise.all(staged.pending.map((p) => p.writer.abort()));
    throw error;
  } finally {
    await Promise.all(staged.scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** A fresh scratch folder for a connection's output, removed when the export ends. */
async function scratchDir(job: ExportJob, connection: ConnectionDef, staged: Staged): Promise<string> {
  await mkdir(job.config.prepare.tempDir, { recursive: true });
  const dir = await mkdtemp(join(job.config.prepare.tempDir, `export-${connection.name}-`));
  staged.scratch.push(dir);
  return dir;
}

/** A native connection's export into a scratch folder; its files are moved into place later. */
async function exportNative(
  job: ExportJob,
  connection: NativeConnectionDef,
  tables: readonly CsvTableDef[],
  staged: Staged,
): Promise<void> {
  const { config, connector, mode, options } = job;
  const native = await nativeConnector(connection.kind);
  if (native === undefined)
    throw new SyncupError("CONFIG_INVALID", `unknown connection type "${connection.kind}"`);
  const outputDir = await scratchDir(job, connection, staged);
  const stateDir = join(config.exportDir, ".state", connector.name, connection.name);
  await mkdir(stateDir, { recursive: true });
  const result = await native.export(connection.settings, {
    connection: connection.name,
    connector: connector.name,
    mode,
    outputDir,
    stateDir,
    env: options.env ?? process.env,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  if (result.commit) staged.commits.push(result.commit);
  for (const table of tables) {
    const file = `${table.name}.csv`;
    staged.moves.push({
      from: join(outputDir, file),
      to: join(config.exportDir, file),
      table: table.name,
      rows: result.tables[table.table] ?? 0,
    });
  }
}

/** A csv connection's tables: the newest file matching each table's pattern. */
function csvSource(job: ExportJob, connection: CsvConnectionDef): SourceOf {
  const dir = job.mode === "incremental" ? connection.incrementalPath : connection.path;
  return (table) =>
    findNewestFile(
      dir,
      table.filePattern ?? /^$/,
      `table "${table.name}" of connector "${job.connector.name}"`,
    );
}

/** Runs a command connection's program into a scratch folder, where it writes `<table>.csv`. */
async function runExportCommand(
  job: ExportJob,
  connection: CommandConnectionDef,
  staged: Staged,
): Promise<SourceOf> {
  const { connector, mode } = job;
  const outputDir = await scratchDir(job, connection, staged);
  const result = await runCommand({
    command: connection.command,
    cwd: connection.cwd,
    env: {
      ...connection.env,
      SYNCUP_OUTPUT_DIR: outputDir,
      SYNCUP_MODE: mode,
      SYNCUP_CONNECTOR: connector.name,
      SYNCUP_CONNECTION: connection.name,
    },
    timeoutSeconds: connection.timeoutSeconds,
    label: `Export command of connection "${connection.name}" (connector "${connector.name}")`,
  });
  staged.commands.push({
    connection: connection.name,
    seconds: result.seconds,
    stderrTail: result.stderrTail,
  });
  return (table) =>
    findNewestFile(
      outputDir,
      new RegExp(`^${escapeRegExp(table.name)}\\.csv$`),
      `table "${table.name}" (the command must write ${table.name}.csv into $SYNCUP_OUTPUT_DIR)`,
    );
}

/**
 * Every file into place: the native exports' files checked, the copies committed, then the
 * native files renamed. The report's files, the native ones first.
 */
async function commitFiles(staged: Staged): Promise<ExportedFile[]> {
  const files: ExportedFile[] = [];
  for (const move of staged.moves) {
    const info = await stat(move.from).catch(() => undefined);
    if (info === undefined) {
      throw new SyncupError(
        "EXPORT_NO_FILE",
        `The ${move.table} export wrote no file "${basename(move.from)}".`,
      );
    }
    files.push({
      table: move.table,
      source: "(native export)",
      output: move.to,
      rows: move.rows,
      bytes: info.size,
    });
  }
  for (const { writer, table, source } of staged.pending) {
    const done = await writer.commit();
    files.push({ table, source, output: done.path, rows: done.rows, bytes: done.bytes });
  }
  for (const move of staged.moves) await rename(move.from, move.to);
  return files;
}

/** Reads one source file with its table's format and writes its canonical copy (uncommitted). */
async function copyTable(
  table: CsvTableDef,
  source: string,
  exportDir: string,
  options: ExportOptions,
): Promise<CsvFileWriter> {
  const reader = await openCsv(source, table.format);
  const writer = await CsvFileWriter.open(join(exportDir, `${table.name}.csv`), reader.header);
  try {
    for await (const batch of reader.rows) {
      for (const row of batch) await writer.write(row.fields);
      options.onProgress?.(table.name, reader.bytesRead(), reader.size);
    }
    return writer;
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
