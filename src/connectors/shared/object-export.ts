/**
 * The export of one table of objects (LDAP entries, SCIM resources of one type) with its link
 * tables, complete or incremental, from an `ObjectSource`:
 *
 * - complete (and initial): every object, one row each (key column first), and one link row
 *   per link value; the snapshot of what was written becomes the next incremental's state.
 * - incremental: the files start with a `command` column. Objects changed since the
 *   watermark are compared with the snapshot: `insert` when the key is new, `update` when the
 *   row changed (an unchanged row is not written). Keys of the snapshot missing from a full
 *   key listing get `delete`. Link files carry `insert`/`delete` rows of exactly the pairs that
 *   appeared or vanished, so that they apply to the previous complete link file.
 *
 * The snapshot and the watermark advance only through the returned `commit`.
 */
import { SyncupError } from "../../errors.js";
import type { Mode } from "../../protocol/mode.js";
import {
  NewestWatermark,
  nextWatermark,
  objectChanges,
  rowHash,
  uniqueValues,
  type ObjectRecord,
} from "./incremental.js";
import { loadSnapshot, SnapshotWriter } from "./snapshot.js";
import type { TableWriters } from "./table-writers.js";

/** One object as the source gives it. */
export interface ExportedObject {
  readonly key: string;
  /** The cells after the key column, in the order of the table's columns. */
  readonly row: readonly string[];
  /** Per link table: the values this object links to. */
  readonly links: Readonly<Record<string, readonly string[]>>;
  /** The object's change time as the source writes it (the watermark attribute). */
  readonly changedAt?: string | undefined;
}

export interface LinkTableSpec {
  readonly table: string;
  readonly keyColumn: string;
  readonly valueColumn: string;
}

export interface ObjectTableSpec {
  readonly table: string;
  readonly keyColumn: string;
  readonly columns: readonly string[];
  readonly links: readonly LinkTableSpec[];
}

/** What an export reads from a managed system for one object table. */
export interface ObjectSource {
  /** Every object in scope. */
  all(): AsyncIterable<readonly ExportedObject[]>;
  /** The objects changed at or after `watermark` (more is harmless, fewer is not). */
  changedSince(watermark: string): AsyncIterable<readonly ExportedObject[]>;
  /** The keys of every object in scope. */
  keys(): AsyncIterable<readonly string[]>;
  /** One object in scope, or undefined when it is not (any more). */
  fetch(key: string): Promise<ExportedObject | undefined>;
  /** For listings that are not snapshots (offset paging): confirms that a key missing from one is gone. */
  confirmGone?(key: string): Promise<boolean>;
  parseWatermark(raw: string): number | undefined;
  formatWatermark(ms: number): string;
}

export interface ObjectExportOptions {
  /** Names the connection in messages: `LDAP connection "ad"`. */
  readonly label: string;
  readonly connection: string;
  readonly spec: ObjectTableSpec;
  readonly source: ObjectSource;
  readonly mode: Mode;
  readonly writers: TableWriters;
  readonly stateDir: string;
  /** A hash of the settings that shape the files: another value refuses an incremental export. */
  readonly fingerprint: string;
  readonly startedMs: number;
  readonly overlapMs: number;
  readonly onProgress?: ((table: string, done: number, total: number) => void) | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

export interface ObjectExportResult {
  /** Objects in scope after this export. */
  readonly objects: number;
  /** Objects read from the source (in an incremental export: those reported changed). */
  readonly read: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  /** Makes this export's snapshot and watermark the state of the next incremental export. */
  readonly commit: () => Promise<void>;
  /** Drops the new snapshot (the export failed). */
  readonly abort: () => Promise<void>;
}

/** Opens the table's files, writes them, and prepares the next state (see the module comment). */
export async function exportObjects(options: ObjectExportOptions): Promise<ObjectExportResult> {
  const { spec, writers, mode } = options;
  const incremental = mode === "incremental";
  const previous = incremental ? await loadPrevious(options) : undefined;
  const command = incremental ? ["command"] : [];
  await writers.open(spec.table, [...command, spec.keyColumn, ...spec.columns]);
  for (const link of spec.links)
    await writers.open(link.table, [...command, link.keyColumn, link.valueColumn]);
  const snapshot = await SnapshotWriter.open(options.stateDir, spec.table);
  try {
    const run =
      previous === undefined ? exportAll(options, snapshot) : exportChanges(options, previous, snapshot);
    const { newest, counts } = await run;
    const watermark = nextWatermark({
      previous: previous?.watermark,
      newest,
      startedMs: options.startedMs,
      overlapMs: options.overlapMs,
      format: (ms) => options.source.formatWatermark(ms),
    });
    const commit = await snapshot.finish(options.fingerprint, watermark);
    return { ...counts, commit, abort: () => snapshot.abort() };
  } catch (error) {
    await snapshot.abort();
    throw error;
  }
}

interface Previous {
  readonly records: Map<string, ObjectRecord>;
  readonly watermark: string | undefined;
}

async function loadPrevious(options: ObjectExportOptions): Promise<Previous> {
  const loaded = await loadSnapshot(options.stateDir, options.spec.table);
  if (loaded === undefined) {
    throw new SyncupError(
      "CONNECTOR_STATE_MISSING",
      `${options.label}: an incremental export of "${options.connection}_${options.spec.table}" starts from the state of an earlier complete export, and "${options.stateDir}" holds none. Run a complete export first.`,
    );
  }
  if (loaded.state.fingerprint !== options.fingerprint) {
    throw new SyncupError(
      "CONNECTOR_STATE_INVALID",
      `${options.label}: the settings that shape "${options.connection}_${options.spec.table}" (attributes, links, scope, filter) changed since the last complete export, so its changes cannot be computed. Run a complete export.`,
    );
  }
  return { records: loaded.records, watermark: loaded.state.watermark ?? undefined };
}

interface Counts {
  objects: number;
  read: number;
  inserted: number;
  updated: number;
  deleted: number;
}

function recordOf(spec: ObjectTableSpec, object: ExportedObject): ObjectRecord {
  const links: Record<string, string[]> = {};
  for (const link of spec.links) links[link.table] = uniqueValues(object.links[link.table] ?? []);
  return { hash: rowHash(object.row), links };
}

async function exportAll(
  options: ObjectExportOptions,
  snapshot: SnapshotWriter,
): Promise<{ newest: NewestWatermark["value"]; counts: Counts }> {
  const { spec, writers, source } = options;
  const table = `${options.connection}_${spec.table}`;
  const seen = new Set<string>();
  const newest = new NewestWatermark();
  const counts: Counts = { objects: 0, read: 0, inserted: 0, updated: 0, deleted: 0 };
  for await (const batch of source.all()) {
    for (const object of batch) {
      if (seen.has(object.key)) continue;
      seen.add(object.key);
      const record = recordOf(spec, object);
      await writers.write(spec.table, [object.key, ...object.row]);
      for (const link of spec.links) {
        for (const value of record.links[link.table] ?? [])
          await writers.write(link.table, [object.key, value]);
      }
      await snapshot.add(object.key, record);
      newest.observe(object.changedAt, (raw) => source.parseWatermark(raw));
      counts.objects++;
      counts.read++;
    }
    options.onProgress?.(table, counts.objects, 0);
  }
  return { newest: newest.value, counts };
}

async function exportChanges(
  options: ObjectExportOptions,
  previous: Previous,
  snapshot: SnapshotWriter,
): Promise<{ newest: NewestWatermark["value"]; counts: Counts }> {
  const { spec, writers, source } = options;
  const table = `${options.connection}_${spec.table}`;
  const linkTables = spec.links.map((l) => l.table);
  const newest = new NewestWatermark();
  const counts: Counts = { objects: 0, read: 0, inserted: 0, updated: 0, deleted: 0 };

  const listed = new Set<string>();
  for await (const keys of source.keys()) for (const key of keys) listed.add(key);

  const current = new Map<string, ObjectRecord>();
  const handle = async (object: ExportedObject): Promise<void> => {
    if (current.has(object.key)) return;
    const record = recordOf(spec, object);
    current.set(object.key, record);
    newest.observe(object.changedAt, (raw) => source.parseWatermark(raw));
    const changes = objectChanges(previous.records.get(object.key), record, linkTables);
    if (changes.command !== undefined) {
      await writers.write(spec.table, [changes.command, object.key, ...object.row]);
      counts[changes.command === "insert" ? "inserted" : "updated"]++;
    }
    for (const link of spec.links) {
      const diff = changes.links[link.table];
      for (const value of diff?.removed ?? []) await writers.write(link.table, ["delete", object.key, value]);
      for (const value of diff?.added ?? []) await writers.write(link.table, ["insert", object.key, value]);
    }
  };

  const changed = previous.watermark === undefined ? source.all() : source.changedSince(previous.watermark);
  for await (const batch of changed) {
    for (const object of batch) await handle(object);
    options.onProgress?.(table, current.size, listed.size);
  }
  // Keys listed but neither known nor reported changed (a clock far off, an entry moved into scope).
  for (const key of listed) {
    if (current.has(key) || previous.records.has(key)) continue;
    const object = await source.fetch(key);
    if (object !== undefined) await handle(object);
  }
  const blank = spec.columns.map(() => "");
  const deleted = new Set<string>();
  for (const [key, record] of previous.records) {
    if (current.has(key) || listed.has(key)) continue;
    if (source.confirmGone !== undefined && !(await source.confirmGone(key))) {
      options.log?.(`${options.label}: "${key}" was missing from the key listing but still exists; kept.`);
      continue;
    }
    deleted.add(key);
    await writers.write(spec.table, ["delete", key, ...blank]);
    counts.deleted++;
    for (const link of spec.links) {
      for (const value of record.links[link.table] ?? [])
        await writers.write(link.table, ["delete", key, value]);
    }
  }
  for (const [key, record] of previous.records) {
    if (deleted.has(key)) continue;
    await snapshot.add(key, current.get(key) ?? record);
  }
  for (const [key, record] of current) {
    if (!previous.records.has(key)) await snapshot.add(key, record);
  }
  counts.objects = previous.records.size - deleted.size + counts.inserted;
  counts.read = current.size;
  options.onProgress?.(table, listed.size, listed.size);
  return { newest: newest.value, counts };
}
