/**
 * Export: reads what each connection of a connector produces and writes the CSV source
 * files `<exportDir>/<connection>_<table>.csv` (UTF-8, ";", a header line), checking the
 * input on the way (encoding, quoting, ragged rows). All files of a connector are written to
 * temporary names first and renamed only when every one of them was read without error, so
 * a bad input leaves the previous export in place.
 */
import { mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Config, ConnectorDef, CsvTableDef, Mode } from "../config/config.js";
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

async function exportLocked(
  config: Config,
  connector: ConnectorDef,
  mode: Mode,
  options: ExportOptions,
): Promise<ExportReport> {
  await mkdir(config.exportDir, { recursive: true });
  const pending: { writer: CsvFileWriter; table: string; source: string }[] = [];
  const commands: ExportReport["commands"][number][] = [];
  const moves: { from: string; to: string; table: string; rows: number }[] = [];
  const commits: (() => Promise<void>)[] = [];
  const scratch: string[] = [];
  try {
    for (const connection of Object.values(connector.connections)) {
      const tables = Object.values(connector.tables).filter((t) => t.connection === connection.name);
      let sourceOf: (table: CsvTableDef) => Promise<string>;
      if (connection.type === "native") {
        const native = nativeConnector(connection.kind);
        if (native === undefined)
          throw new SyncupError("CONFIG_INVALID", `unknown connection type "${connection.kind}"`);
        await mkdir(config.prepare.tempDir, { recursive: true });
        const outputDir = await mkdtemp(join(config.prepare.tempDir, `export-${connection.name}-`));
        scratch.push(outputDir);
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
        if (result.commit) commits.push(result.commit);
        for (const table of tables) {
          const file = `${table.name}.csv`;
          moves.push({
            from: join(outputDir, file),
            to: join(config.exportDir, file),
            table: table.name,
            rows: result.tables[table.table] ?? 0,
          });
        }
        continue;
      }
      if (connection.type === "csv") {
        const dir = mode === "incremental" ? connection.incrementalPath : connection.path;
        sourceOf = (table) =>
          findNewestFile(
            dir,
            table.filePattern ?? /^$/,
            `table "${table.name}" of connector "${connector.name}"`,
          );
      } else {
        await mkdir(config.prepare.tempDir, { recursive: true });
        const outputDir = await mkdtemp(join(config.prepare.tempDir, `export-${connection.name}-`));
        scratch.push(outputDir);
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
        commands.push({
          connection: connection.name,
          seconds: result.seconds,
          stderrTail: result.stderrTail,
        });
        sourceOf = (table) =>
          findNewestFile(
            outputDir,
            new RegExp(`^${escapeRegExp(table.name)}\\.csv$`),
            `table "${table.name}" (the command must write ${table.name}.csv into $SYNCUP_OUTPUT_DIR)`,
          );
      }
      for (const table of tables) {
        const source = await sourceOf(table);
        pending.push({
          writer: await copyTable(table, source, config.exportDir, options),
          table: table.name,
          source,
        });
      }
    }
    const files: ExportedFile[] = [];
    for (const move of moves) {
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
    for (const { writer, table, source } of pending) {
      const done = await writer.commit();
      files.push({ table, source, output: done.path, rows: done.rows, bytes: done.bytes });
    }
    for (const move of moves) await rename(move.from, move.to);
    const commitState = async () => {
      for (const commit of commits.splice(0)) await commit();
    };
    if (options.deferStateCommit !== true) await commitState();
    return { connector: connector.name, mode, files, commands, commitState };
  } catch (error) {
    await Promise.all(pending.map((p) => p.writer.abort()));
    throw error;
  } finally {
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  }
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
