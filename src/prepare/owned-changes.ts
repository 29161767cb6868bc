/**
 * Incremental prepare of an association read from an entity file (a manager column in the
 * people file) whose export carries a `command` column: the rows are changes of the owner
 * entity (see `core/owned-links.ts`), applied to the owner's accepted pairs in `previous/`.
 * The new `.sorted.csv` is what a complete export of the same file would give, and the
 * `.sorted.delta` its difference from `previous/`, pair by pair.
 */
import type { Config, MappingDef } from "../config/config.js";
import { collapseSorted, parseCommand } from "../core/change-collapse.js";
import { mergeDelta } from "../core/delta-merge.js";
import { applyOwnedChanges } from "../core/owned-links.js";
import type { Change } from "../core/rows.js";
import { SyncupError } from "../errors.js";
import { sortRows } from "../sort/external-sort.js";
import type { MappingSummary, PreviousManifest } from "./layout.js";
import {
  checkHeader,
  fieldsOf,
  openWriter,
  projectRows,
  writeAll,
  writeDelta,
  type MappingContext,
} from "./mapping-context.js";
import { verifiedPreviousFile } from "./previous.js";

/**
 * The end (0: column1, 1: column2) of an association mapping that is the primary key of an
 * entity type mapping reading the same table, or undefined.
 */
export function ownerEndOf(config: Config, connector: string, mapping: MappingDef): 0 | 1 | undefined {
  if (mapping.kind !== "association") return undefined;
  for (const entity of config.connectors[connector]?.entityTypeMappings ?? []) {
    if (entity.table !== mapping.table) continue;
    if (mapping.end1EntityType === entity.name && mapping.column1 === entity.primaryKey) return 0;
    if (mapping.end2EntityType === entity.name && mapping.column2 === entity.primaryKey) return 1;
  }
  return undefined;
}

export async function prepareOwnedChanges(
  ctx: MappingContext,
  commandOf: (fields: readonly string[], line: number) => string,
  previous: PreviousManifest | undefined,
  owner: 0 | 1,
): Promise<MappingSummary> {
  const header = ctx.mapping.columns;
  const previousFile =
    previous === undefined
      ? undefined
      : await verifiedPreviousFile(ctx.config, ctx.connector, previous, ctx.mapping.name);
  if (previousFile === undefined) {
    throw new SyncupError(
      "PREVIOUS_MISSING",
      `No accepted previous state for mapping "${ctx.mapping.name}" of connector "${ctx.connector}": its pairs come from the rows of "${ctx.reader.file}", whose changes replace the pairs the previous state holds. Run a complete (or initial) synchronization first.`,
    );
  }
  const swap = (rows: string[][]) => rows.map(([a = "", b = ""]) => [b, a]);
  const ownerFirst = <T>(pair: readonly [T, T]): [T, T] =>
    owner === 0 ? [pair[0], pair[1]] : [pair[1], pair[0]];
  const nullpk = await openWriter(ctx, "nullpk", [
    "line",
    ...ownerFirst([header[0]!, header[1]!]),
    "command",
  ]);
  await openWriter(ctx, "duplicates", header);
  const deltaWriter = await openWriter(ctx, "delta", ["command", ...header]);
  const sorted = await openWriter(ctx, "sorted", header);
  const sortOptions = {
    memoryBudgetBytes: ctx.config.prepare.memoryBudgetBytes,
    tempDir: ctx.config.prepare.tempDir,
  };
  /** Pairs sorted by their two columns, once each. */
  async function* sortedPairs(rows: AsyncIterable<string[][]>): AsyncGenerator<string[][]> {
    for await (const batch of sortRows(rows, { keyColumns: 2, unique: true, ...sortOptions }))
      yield batch.rows;
  }
  async function* swapped(rows: AsyncIterable<string[][]>): AsyncGenerator<string[][]> {
    for await (const batch of rows) yield swap(batch);
  }

  // The rows as owner changes (only the owner's key is required), net effect per owner.
  const counts = { read: 0, nullKeys: 0 };
  const [c1, c2] = ctx.columns;
  const [n1, n2] = ctx.normalizers;
  const rows = projectRows(
    { ...ctx, columns: ownerFirst([c1!, c2!]), normalizers: ownerFirst([n1, n2]) },
    nullpk,
    counts,
    commandOf,
    1,
  );
  async function* asChanges(): AsyncGenerator<Change[]> {
    for await (const batch of sortRows(rows, { keyColumns: 1, unique: false, ...sortOptions })) {
      yield batch.rows.map((row) => ({
        command: parseCommand(row[2] ?? "") ?? "update",
        fields: [row[0] ?? "", row[1] ?? ""],
      }));
    }
  }
  const changes = collapseSorted(asChanges(), 1);

  // The accepted pairs by owner, the changes applied, back in the file's order.
  const before = await ctx.open(previousFile);
  checkHeader(before, header);
  const byOwner = owner === 0 ? fieldsOf(before) : sortedPairs(swapped(fieldsOf(before)));
  const after = applyOwnedChanges(byOwner, changes);
  let kept = 0;
  async function* keep(): AsyncGenerator<string[][]> {
    for await (const batch of owner === 0 ? after : sortedPairs(swapped(after))) {
      kept += batch.length;
      await writeAll(sorted, batch);
      yield batch;
    }
  }
  const accepted = await ctx.open(previousFile);
  const delta = await writeDelta(deltaWriter, mergeDelta(fieldsOf(accepted), keep(), 2));
  return {
    mapping: ctx.mapping.name,
    kind: ctx.mapping.kind,
    source: ctx.reader.file,
    rowsRead: counts.read,
    kept,
    nullKeys: counts.nullKeys,
    duplicates: 0,
    ...delta,
    merges: 0,
  };
}
