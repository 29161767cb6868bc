/**
 * External merge sort of row streams by key, in ordinal order (`LC_ALL=C sort`).
 *
 * Rows are copied into a compact store (`row-store.ts`) until their estimated memory reaches
 * the budget, sorted there (`key-sort.ts`) and spilled to a run file (`run-file.ts`). When the
 * input ends, the rows in the store are either all there is (returned without any temporary
 * file) or the last run, merged with the run files (`merge.ts`): from memory when they are
 * few, else written as a run too, so that the merge holds little more than its read buffers.
 * More runs than one merge reads at once (`MAX_FAN_IN`) are first merged in groups of
 * consecutive runs.
 *
 * A row of more than `LARGE_ROW_CHARS` characters is written to a file of its own as it comes
 * (`large-rows.ts`); the store, the runs and the merge carry only its key and where it lies, and
 * the merge reads it back when it hands it out. So the merge never holds more than one such
 * row, however many runs begin with one.
 *
 * Equal keys keep their input order (runs are in input order and ties go to the earlier run),
 * so with `unique` the first row of a key in input order is kept.
 */
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeyColumns } from "../core/rows.js";
import { SyncupError } from "../errors.js";
import { LARGE_ROW_CHARS, LargeRows, rowChars } from "./large-rows.js";
import type { ChunkSource, RowSink } from "./merge.js";
import { mergeChunks, mergeInto, mergeRows, sortStore } from "./merge.js";
import { RowStore } from "./row-store.js";
import type { Chunk } from "./run-file.js";
import { RunReader, RunWriter } from "./run-file.js";

export { estimateRowBytes } from "./row-store.js";
export type { RowSink } from "./merge.js";

export const DEFAULT_MEMORY_BUDGET_BYTES = 64 * 1024 * 1024;

export interface ExternalSortOptions {
  /** 1: the key is column 0 (entities); 2: columns 0 and 1 (associations). */
  keyColumns: KeyColumns;
  /**
   * true: the first row of a key in input order is kept, later rows of that key go to
   * `duplicates`; false: all rows are kept, rows of equal key in input order.
   */
  unique: boolean;
  /**
   * Estimated memory of rows (~ field lengths * 2 + 48 + 24 * fields per row) before a sorted
   * run is spilled to disk; default 64 MiB.
   */
  memoryBudgetBytes?: number | undefined;
  /** Run files go in a fresh folder below this one (default: the OS's), removed at the end. */
  tempDir?: string | undefined;
}

export interface SortedBatch {
  rows: string[][];
  duplicates: string[][];
}

/** Most runs merged at once. */
const MAX_FAN_IN = 64;

/** Prefix of a sort's temporary folder, followed by the pid of the process that sorts. */
const SORT_FOLDER_PREFIX = "syncup-sort-";
const SORT_FOLDER = /^syncup-sort-(\d+)-/;

/** For the name of a sort's temporary folder, the pid of the process that sorts (or sorted). */
export function sortFolderPid(name: string): number | undefined {
  const match = SORT_FOLDER.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Sorts rows by key (see the module comment). Temporary files are removed when the iteration
 * ends, fails or is stopped early (`return()`, as `break` in `for await` does); the folder of a
 * process killed meanwhile is `<tempDir>/syncup-sort-<pid>-<random>`.
 */
export async function* sortRows(
  input: AsyncIterable<string[][]>,
  options: ExternalSortOptions,
): AsyncGenerator<SortedBatch> {
  const runs = new RunFiles(options.tempDir ?? tmpdir());
  try {
    const sources = await sortedSources(input, options, runs);
    yield* mergeRows(sources, options.keyColumns, options.unique, runs.large);
  } finally {
    await runs.dispose();
  }
}

/**
 * Sorts rows by key as `sortRows` does, and hands them to `sink` in order as code units
 * (`RowSink`): for a consumer that writes the rows out, without making strings of them.
 */
export async function sortRowsInto(
  input: AsyncIterable<string[][]>,
  options: ExternalSortOptions,
  sink: RowSink,
): Promise<void> {
  const runs = new RunFiles(options.tempDir ?? tmpdir());
  try {
    const sources = await sortedSources(input, options, runs);
    await mergeInto(sources, options.keyColumns, options.unique, runs.large, sink);
  } finally {
    await runs.dispose();
  }
}

/** Reads the input into sorted runs; returns the sources the last merge reads, in input order. */
async function sortedSources(
  input: AsyncIterable<string[][]>,
  options: ExternalSortOptions,
  runs: RunFiles,
): Promise<ChunkSource[]> {
  const { keyColumns } = options;
  if (keyColumns !== 1 && keyColumns !== 2) {
    throw new SyncupError("INTERNAL", `sortRows: keyColumns must be 1 or 2, not ${String(keyColumns)}.`);
  }
  const budget = options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
  if (!(budget > 0)) {
    throw new SyncupError("INTERNAL", `sortRows: memoryBudgetBytes must be positive, not ${budget}.`);
  }
  const store = new RowStore(keyColumns);
  await readInput(input, store, runs, budget);
  if (runs.paths.length === 0) return [sortStore(store)];
  let last: ChunkSource | undefined;
  if (store.estimatedBytes <= budget / 4) last = sortStore(store);
  else await runs.spill(store);
  if (last === undefined) store.release();
  const readBytes = Math.min(
    1024 * 1024,
    Math.max(64 * 1024, Math.floor(budget / 8 / Math.min(runs.paths.length, MAX_FAN_IN))),
  );
  await runs.reduce(keyColumns, readBytes);
  const sources: ChunkSource[] = [];
  for (const path of runs.paths) sources.push(await runs.source(path, readBytes));
  if (last !== undefined) sources.push(last);
  return sources;
}

/**
 * Takes the input into the store, spilling runs as it fills up, large rows to their file. A
 * function of its own so that its last batch is not kept alive through the merge.
 */
async function readInput(
  input: AsyncIterable<string[][]>,
  store: RowStore,
  runs: RunFiles,
  budget: number,
): Promise<void> {
  for await (const batch of input) {
    let i = 0;
    while (i < batch.length) {
      i = store.append(batch, i, budget, LARGE_ROW_CHARS);
      const row = batch[i];
      if (row !== undefined && rowChars(row) > LARGE_ROW_CHARS) {
        store.appendLarge(row, await (await runs.largeRows()).write(row));
        i++;
      }
      if (store.isFull(budget)) {
        await runs.spill(store);
        store.clear();
      }
    }
  }
}

/** Temporary folders still to remove if the process exits before their sort is finished. */
const liveFolders = new Set<string>();
let exitHookInstalled = false;

function removeLiveFolders(): void {
  for (const folder of liveFolders) {
    try {
      rmSync(folder, { recursive: true, force: true });
    } catch {
      // Nothing more to do on exit.
    }
  }
  liveFolders.clear();
}

/** A run file as a chunk source. */
class FileSource implements ChunkSource {
  constructor(private readonly reader: RunReader) {}

  next(): Promise<Chunk | undefined> {
    return this.reader.next();
  }
}

/** The run files of one sort, in input order, in a folder of their own created on first use. */
class RunFiles {
  paths: string[] = [];
  /** The large-row file, once a large row came. */
  large: LargeRows | undefined;
  private folder: string | undefined;
  private counter = 0;
  private readonly readers = new Set<RunReader>();
  private readonly writers = new Set<RunWriter>();

  constructor(private readonly parent: string) {}

  /** Sorts the store and writes its rows as a new run. */
  async spill(store: RowStore): Promise<void> {
    const sorted = sortStore(store);
    const path = await this.newPath();
    const writer = await this.writer(path);
    for (let chunk = sorted.nextEncoded(); chunk !== undefined; chunk = sorted.nextEncoded()) {
      await writer.write(chunk);
    }
    await this.closeWriter(writer);
    this.paths.push(path);
  }

  /** Merges groups of consecutive runs until one merge can read them all. */
  async reduce(keyColumns: KeyColumns, readBytes: number): Promise<void> {
    while (this.paths.length > MAX_FAN_IN) {
      const next: string[] = [];
      for (let g = 0; g < this.paths.length; g += MAX_FAN_IN) {
        const group = this.paths.slice(g, g + MAX_FAN_IN);
        if (group.length === 1) {
          next.push(group[0] as string);
          continue;
        }
        const readers: RunReader[] = [];
        const sources: ChunkSource[] = [];
        for (const file of group) {
          const reader = await this.reader(file, readBytes);
          readers.push(reader);
          sources.push(new FileSource(reader));
        }
        const path = await this.newPath();
        const writer = await this.writer(path);
        for await (const chunk of mergeChunks(sources, keyColumns)) await writer.write(chunk);
        await this.closeWriter(writer);
        for (const reader of readers) await this.closeReader(reader);
        await Promise.all(group.map((file) => rm(file, { force: true })));
        next.push(path);
      }
      this.paths = next;
    }
  }

  async largeRows(): Promise<LargeRows> {
    this.large ??= await LargeRows.create(join(await this.ensureFolder(), "large-rows"));
    return this.large;
  }

  async source(path: string, readBytes: number): Promise<ChunkSource> {
    return new FileSource(await this.reader(path, readBytes));
  }

  /** Closes everything and removes the folder. */
  async dispose(): Promise<void> {
    for (const writer of this.writers) await writer.abandon();
    this.writers.clear();
    for (const reader of this.readers) await reader.close().catch(() => undefined);
    this.readers.clear();
    await this.large?.close().catch(() => undefined);
    this.large = undefined;
    const folder = this.folder;
    this.folder = undefined;
    if (folder !== undefined) {
      await rm(folder, { recursive: true, force: true });
      liveFolders.delete(folder);
    }
  }

  private async reader(path: string, readBytes: number): Promise<RunReader> {
    const reader = await RunReader.open(path, readBytes);
    this.readers.add(reader);
    return reader;
  }

  private async closeReader(reader: RunReader): Promise<void> {
    this.readers.delete(reader);
    await reader.close();
  }

  private async writer(path: string): Promise<RunWriter> {
    const writer = await RunWriter.create(path);
    this.writers.add(writer);
    return writer;
  }

  private async closeWriter(writer: RunWriter): Promise<void> {
    await writer.close();
    this.writers.delete(writer);
  }

  private async newPath(): Promise<string> {
    const folder = await this.ensureFolder();
    this.counter++;
    return join(folder, `run-${String(this.counter).padStart(6, "0")}`);
  }

  private async ensureFolder(): Promise<string> {
    if (this.folder === undefined) {
      this.folder = await mkdtemp(join(this.parent, `${SORT_FOLDER_PREFIX}${process.pid}-`));
      liveFolders.add(this.folder);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once("exit", removeLiveFolders);
      }
    }
    return this.folder;
  }
}
