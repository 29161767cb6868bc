/**
 * Prepare-synchronization: for every mapping of a connector, from its CSV source file, keep
 * the mapped columns, set aside rows without a key and later duplicates of a key, sort by key
 * in ordinal order, and in incremental mode compute the changes. Every output is written
 * under a temporary name and renamed only once all mappings succeeded; `prepare.json`, written
 * last, lists what belongs to this prepare. A failure leaves the last good outputs and
 * `previous/` untouched.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { mappingsOf, type Config, type ConnectorDef, type MappingDef, type Mode } from "../config/config.js";
import { requireConnector } from "../config/require-connector.js";
import { applyDelta } from "../core/apply-delta.js";
import { collapseSorted, parseCommand } from "../core/change-collapse.js";
import { findCommandColumn, resolveColumns } from "../core/columns.js";
import { keyNormalizers } from "../core/key-normalizer.js";
import { mergeDelta } from "../core/delta-merge.js";
import type { Change } from "../core/rows.js";
import { openCsv, type CsvReader } from "../csv/reader.js";
import { CsvFileWriter } from "../csv/writer.js";
import { SyncupError } from "../errors.js";
import { sortRows, sortRowsInto } from "../sort/external-sort.js";
import { withConnectorLock } from "../support/connector-lock.js";
import { writeJsonAtomic } from "../support/json-file.js";
import {
  connectorDir,
  preparedFileName,
  PREPARED_SUFFIX,
  type ManifestFile,
  type MappingSummary,
  type PreparedKind,
  type PrepareManifest,
  type PreviousManifest,
} from "./layout.js";
import {
  CANONICAL,
  checkHeader,
  commandReader,
  fieldsOf,
  keyColumnsOf,
  openWriter,
  projectRows,
  write,
  writeAll,
  writeDelta,
  type MappingContext,
} from "./mapping-context.js";
import { ownerEndOf, prepareOwnedChanges } from "./owned-changes.js";
import { readPreviousManifest, verifiedPreviousFile } from "./previous.js";
import { removeLeftovers } from "./temp-files.js";

export interface PrepareOptions {
  /** Called as a source file is read, for progress bars. */
  readonly onProgress?: (mapping: string, bytesRead: number, size: number) => void;
}

export interface PrepareReport {
  readonly manifest: PrepareManifest;
  readonly dir: string;
}

interface Outputs {
  readonly writers: Map<PreparedKind, CsvFileWriter>;
  readonly mapping: MappingDef;
}

/** Prepares every mapping of `connectorName` from the export directory into `<workDir>/<connector>/`. */
export async function prepareConnector(
  config: Config,
  connectorName: string,
  mode: Mode,
  options: PrepareOptions = {},
): Promise<PrepareReport> {
  const connector = requireConnector(config, connectorName);
  return withConnectorLock(config.workDir, connector.name, "prepare", () =>
    prepareLocked(config, connector, mode, options),
  );
}

async function prepareLocked(
  config: Config,
  connector: ConnectorDef,
  mode: Mode,
  options: PrepareOptions,
): Promise<PrepareReport> {
  const dir = connectorDir(config, connector.name);
  await mkdir(dir, { recursive: true });
  await mkdir(config.prepare.tempDir, { recursive: true });
  await removeLeftovers(config, connector);
  const previous = mode === "incremental" ? await readPreviousManifest(config, connector.name) : undefined;
  const outputs: Outputs[] = [];
  const readers: CsvReader[] = [];
  const open = async (path: string) => {
    const reader = await openCsv(path, CANONICAL, {
      maxRecordLength: config.prepare.maxRecordChars,
      maxRecordSetting: "prepare.maxRecordMiB",
    });
    readers.push(reader);
    return reader;
  };
  const summaries: MappingSummary[] = [];
  let deltaSource: PrepareManifest["deltaSource"] = "none";
  try {
    for (const mapping of mappingsOf(connector)) {
      const source = join(config.exportDir, `${mapping.table}.csv`);
      const reader = await open(source);
      const writers = new Map<PreparedKind, CsvFileWriter>();
      outputs.push({ writers, mapping });
      const commandIndex = findCommandColumn(reader.header);
      if (commandIndex >= 0 && mode !== "incremental") {
        throw new SyncupError(
          "MODE_MISMATCH",
          `"${source}" line ${reader.headerLine} has a "command" column: it is an incremental export of changes, which a ${mode} synchronization would take for the whole data. Run with --mode incremental, or export the complete data.`,
          { position: { file: source, line: reader.headerLine, column: commandIndex + 1 } },
        );
      }
      const columns = resolveColumns(reader.header, mapping.columns, {
        file: source,
        headerLine: reader.headerLine,
        mapping: mapping.name,
      });
      const context: MappingContext = {
        config,
        connector: connector.name,
        dir,
        mapping,
        reader,
        columns,
        normalizers: keyNormalizers(connector, mapping),
        writers,
        options,
        open,
      };
      if (commandIndex >= 0) {
        deltaSource = "command";
        summaries.push(await prepareChanges(context, commandIndex, previous));
      } else {
        if (mode === "incremental") deltaSource = "previous";
        summaries.push(
          await prepareEntries(context, mode === "incremental" ? (previous ?? null) : undefined),
        );
      }
    }
    const files: ManifestFile[] = [];
    for (const { writers, mapping } of outputs) {
      for (const [kind, writer] of writers) {
        const done = await writer.commit();
        files.push({
          mapping: mapping.name,
          kind,
          file: preparedFileName(mapping.name, kind),
          rows: done.rows,
          bytes: done.bytes,
          sha256: done.sha256,
        });
      }
    }
    const manifest: PrepareManifest = {
      connector: connector.name,
      mode,
      preparedAt: new Date().toISOString(),
      deltaSource,
      baseBatch: previous?.batch ?? null,
      files,
      summaries,
    };
    await writeJsonAtomic(join(dir, "prepare.json"), manifest);
    await removeStaleOutputs(dir, files);
    return { manifest, dir };
  } catch (error) {
    await Promise.all(outputs.flatMap((o) => [...o.writers.values()].map((w) => w.abort())));
    throw error;
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}

/** Complete/initial, and incremental by diff against `previous/`. */
async function prepareEntries(
  ctx: MappingContext,
  previous: PreviousManifest | null | undefined,
): Promise<MappingSummary> {
  const header = ctx.mapping.columns;
  const nullpk = await openWriter(ctx, "nullpk", ["line", ...header]);
  const duplicatesWriter = await openWriter(ctx, "duplicates", header);
  const sorted = await openWriter(ctx, "sorted", header);
  const counts = { read: 0, nullKeys: 0, duplicates: 0, kept: 0 };
  const keyColumns = keyColumnsOf(ctx.mapping);
  const sortOptions = {
    keyColumns,
    unique: true,
    memoryBudgetBytes: ctx.config.prepare.memoryBudgetBytes,
    tempDir: ctx.config.prepare.tempDir,
  };
  const summary = (delta: { inserts: number; updates: number; deletes: number }): MappingSummary => ({
    mapping: ctx.mapping.name,
    kind: ctx.mapping.kind,
    source: ctx.reader.file,
    rowsRead: counts.read,
    kept: counts.kept,
    nullKeys: counts.nullKeys,
    duplicates: counts.duplicates,
    ...delta,
    merges: 0,
  });
  if (previous === undefined) {
    // Nothing reads the sorted rows but their files: written from the sort's code units.
    await sortRowsInto(projectRows(ctx, nullpk, counts), sortOptions, {
      units(units, start, lengths, at, width, duplicate) {
        if (duplicate) counts.duplicates++;
        else counts.kept++;
        return (duplicate ? duplicatesWriter : sorted).writeUnits(units, start, lengths, at, width);
      },
      fields(row, duplicate) {
        if (duplicate) counts.duplicates++;
        else counts.kept++;
        return (duplicate ? duplicatesWriter : sorted).write(row);
      },
    });
    return summary({ inserts: 0, updates: 0, deletes: 0 });
  }
  const sortedBatches = sortRows(projectRows(ctx, nullpk, counts), sortOptions);
  async function* keep(): AsyncGenerator<string[][]> {
    for await (const batch of sortedBatches) {
      counts.kept += batch.rows.length;
      counts.duplicates += batch.duplicates.length;
      await writeAll(sorted, batch.rows);
      await writeAll(duplicatesWriter, batch.duplicates);
      yield batch.rows;
    }
  }
  const previousFile =
    previous === null
      ? undefined
      : await verifiedPreviousFile(ctx.config, ctx.connector, previous, ctx.mapping.name);
  if (previousFile === undefined) {
    throw new SyncupError(
      "PREVIOUS_MISSING",
      `No accepted previous state for mapping "${ctx.mapping.name}" of connector "${ctx.connector}", so its changes cannot be computed. Run a complete (or initial) synchronization first.`,
    );
  }
  const deltaWriter = await openWriter(ctx, "delta", ["command", ...header]);
  const prev = await ctx.open(previousFile);
  checkHeader(prev, header);
  return summary(await writeDelta(deltaWriter, mergeDelta(fieldsOf(prev), keep(), keyColumns)));
}

/**
 * Incremental from an export that carries a `command` column: clean the changes, collapse
 * each key's changes into their net effect, and, when `previous/` has this mapping, apply
 * them to it so that the next `.sorted.csv` (the full state) is known.
 */
async function prepareChanges(
  ctx: MappingContext,
  commandIndex: number,
  previous: PreviousManifest | undefined,
): Promise<MappingSummary> {
  const file = ctx.reader.file;
  const commandOf = commandReader(file, commandIndex);
  const owner = ownerEndOf(ctx.config, ctx.connector, ctx.mapping);
  if (owner !== undefined) return prepareOwnedChanges(ctx, commandOf, previous, owner);
  const header = ctx.mapping.columns;
  const nullpk = await openWriter(ctx, "nullpk", ["line", ...header, "command"]);
  await openWriter(ctx, "duplicates", header);
  const deltaWriter = await openWriter(ctx, "delta", ["command", ...header]);
  const counts = { read: 0, nullKeys: 0 };
  const keyColumns = keyColumnsOf(ctx.mapping);
  const width = header.length;
  const sortedChanges = sortRows(projectRows(ctx, nullpk, counts, commandOf), {
    keyColumns,
    unique: false,
    memoryBudgetBytes: ctx.config.prepare.memoryBudgetBytes,
    tempDir: ctx.config.prepare.tempDir,
  });
  async function* asChanges(): AsyncGenerator<Change[]> {
    for await (const batch of sortedChanges) {
      yield batch.rows.map((row) => ({
        command: parseCommand(row[width] ?? "") ?? "update",
        fields: row.slice(0, width),
      }));
    }
  }
  const delta = { inserts: 0, updates: 0, deletes: 0, merges: 0, kept: 0 };
  async function* written(): AsyncGenerator<Change[]> {
    for await (const batch of collapseSorted(asChanges(), keyColumns)) {
      for (const change of batch) {
        delta.kept++;
        if (change.command === "insert") delta.inserts++;
        else if (change.command === "update") delta.updates++;
        else if (change.command === "delete") delta.deletes++;
        else delta.merges++;
        await write(deltaWriter, [change.command, ...change.fields]);
      }
      yield batch;
    }
  }
  const previousFile =
    previous === undefined
      ? undefined
      : await verifiedPreviousFile(ctx.config, ctx.connector, previous, ctx.mapping.name);
  if (previousFile === undefined) {
    for await (const _ of written()) {
      // Written by written().
    }
  } else {
    const sorted = await openWriter(ctx, "sorted", header);
    const prev = await ctx.open(previousFile);
    checkHeader(prev, header);
    for await (const batch of applyDelta(fieldsOf(prev), written(), keyColumns))
      await writeAll(sorted, batch);
  }
  return {
    mapping: ctx.mapping.name,
    kind: ctx.mapping.kind,
    source: file,
    rowsRead: counts.read,
    kept: delta.kept,
    nullKeys: counts.nullKeys,
    duplicates: 0,
    inserts: delta.inserts,
    updates: delta.updates,
    deletes: delta.deletes,
    merges: delta.merges,
  };
}

/** Removes prepared files of earlier runs that this prepare did not produce (an old `.sorted.delta`). */
async function removeStaleOutputs(dir: string, files: readonly ManifestFile[]): Promise<void> {
  const keep = new Set(files.map((f) => f.file));
  const suffixes = Object.values(PREPARED_SUFFIX);
  for (const name of await readdir(dir)) {
    if (!keep.has(name) && suffixes.some((s) => name.endsWith(s))) await rm(join(dir, name), { force: true });
  }
}
