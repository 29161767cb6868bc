/**
 * Complete mode: each `.sorted.csv` is merge-joined with the repository's rows of the same
 * scope, streamed in the same key order, and only the differences are staged. Memory holds
 * one batch of file rows, one page of repository rows and one chunk of staged changes.
 */
import type { AssociationMappingDef, EntityTypeMappingDef } from "../config/config.js";
import { Cursor } from "../core/cursor.js";
import { compareOrdinal } from "../core/ordinal.js";
import { ResourceTranslator, type ConversionProblem, type TranslatedResource } from "../core/translate.js";
import { SyncupError } from "../errors.js";
import type { ComparedResourceHead, StagedResource, StoredLink } from "../store/types.js";
import {
  ascendingKeys,
  changeOf,
  CHUNK,
  deletion,
  linkScopeOf,
  newMappingReport,
  showKey,
  type StageContext,
} from "./context.js";
import { LinkStager } from "./link-stager.js";
import { openPrepared, type PreparedFile } from "./prepared.js";

export async function stageCompleteResources(ctx: StageContext, file: PreparedFile): Promise<void> {
  const mapping = file.mapping as EntityTypeMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const reader = await openPrepared(file, false);
  const translator = new ResourceTranslator(mapping, reader.header, file.label, ctx.connector.name);
  const stored = await Cursor.open(ctx.store.resources.streamHeads(ctx.connector.name, mapping.name));
  // Rows that differ, in file order, until their stored heads are read in one query per chunk.
  const pending: Pending[] = [];
  const problems: ConversionProblem[] = [];
  // Unchanged resources whose source hash is missing or stale (rows loaded before source
  // hashes were kept, or a mapping edited without changing values): not a change of the batch,
  // so set at once, and only where the values are still the ones compared.
  const refresh: { id: number; sourceHash: string; hash: string }[] = [];
  const flush = async () => {
    const heads = await ctx.store.resources.headsOf(
      pending.flatMap((p) => (p.resourceId === null ? [] : [p.resourceId])),
    );
    const staged: StagedResource[] = [];
    for (const p of pending) {
      const head = p.resourceId === null ? undefined : heads.get(p.resourceId);
      if (p.resourceId !== null && head === undefined) {
        throw new SyncupError(
          "INTERNAL",
          `Resource ${p.resourceId} of ${mapping.name} went from the repository during the comparison.`,
        );
      }
      if (p.resource === null) {
        staged.push(deletion(mapping.name, head!, null));
        continue;
      }
      const resource = p.resource;
      const change = changeOf(mapping.name, resource, head, p.line);
      if (change !== null) {
        staged.push(change);
        if (change.operation === "insert") report.inserted++;
        else report.updated++;
      } else {
        report.unchanged++;
        if (resource.sourceHash !== null && head !== undefined)
          refresh.push({ id: head.id, sourceHash: resource.sourceHash, hash: head.hash });
      }
    }
    pending.length = 0;
    if (ctx.conversion.count === 0) await ctx.store.changes.stageResources(ctx.batchId, staged);
    await ctx.store.resources.refreshSourceHashes(refresh);
    refresh.length = 0;
  };
  const remove = async (head: ComparedResourceHead) => {
    pending.push({ resourceId: head.id, resource: null, line: null });
    report.deleted++;
    await advanceInOrder(stored);
  };
  try {
    const ascending = ascendingKeys(file);
    for await (const rows of reader.rows) {
      for (const row of rows) {
        report.rows++;
        const pk = translator.pkOf(row.fields);
        ascending(row.line, pk);
        while (stored.current !== undefined && compareOrdinal(stored.current.pk, pk) < 0)
          await remove(stored.current);
        const head = stored.current?.pk === pk ? stored.current : undefined;
        if (
          head !== undefined &&
          head.sourceHash !== null &&
          head.sourceHash === translator.sourceHashOf(row.fields)
        ) {
          // The same cells through the same mapping: the same resource, without translating.
          report.unchanged++;
          const moving = advanceInOrder(stored);
          if (moving !== undefined) await moving;
          continue;
        }
        const resource = translator.translate(row.fields, row.line, problems);
        if (resource === undefined) {
          for (const problem of problems.splice(0)) ctx.conversion.add(problem);
        } else {
          pending.push({ resourceId: head?.id ?? null, resource, line: row.line });
        }
        if (head !== undefined) {
          const moving = advanceInOrder(stored);
          if (moving !== undefined) await moving;
        }
        if (pending.length >= CHUNK) await flush();
      }
    }
    while (stored.current !== undefined) await remove(stored.current);
    await flush();
  } finally {
    await stored.close();
    await reader.close();
  }
}

/**
 * A file row that its stored resource's source hash did not settle (`resource`, with the
 * stored resource's id if there is one), or a stored resource the file no longer has
 * (`resource` null).
 */
type Pending =
  | { resourceId: number | null; resource: TranslatedResource; line: number }
  | { resourceId: number; resource: null; line: null };

export async function stageCompleteLinks(ctx: StageContext, file: PreparedFile): Promise<void> {
  const mapping = file.mapping as AssociationMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const scope = linkScopeOf(ctx.config, ctx.connector, mapping);
  const stager = new LinkStager(ctx, mapping, scope, report);
  const reader = await openPrepared(file, false);
  const stored = await Cursor.open(ctx.store.links.streamPairs(ctx.batchId, ctx.connector.name, scope));
  try {
    await stager.resetPending();
    const ascending = ascendingKeys(file);
    for await (const rows of reader.rows) {
      for (const row of rows) {
        report.rows++;
        const key1 = row.fields[0] ?? "";
        const key2 = row.fields[1] ?? "";
        ascending(row.line, key1, key2);
        while (
          stored.current !== undefined &&
          comparePair(stored.current.key1, stored.current.key2, key1, key2) < 0
        ) {
          await stager.remove(stored.current, null);
          await advancePairsInOrder(stored);
        }
        const same =
          stored.current !== undefined && stored.current.key1 === key1 && stored.current.key2 === key2;
        if (!same) {
          await stager.candidate(row.line, key1, key2);
        } else if (stored.current?.stale === 1) {
          await stager.candidate(row.line, key1, key2, stored.current);
          await advancePairsInOrder(stored);
        } else {
          report.unchanged++;
          const moving = advancePairsInOrder(stored);
          if (moving !== undefined) await moving;
        }
      }
    }
    while (stored.current !== undefined) {
      await stager.remove(stored.current, null);
      await advancePairsInOrder(stored);
    }
  } catch (error) {
    await stager.abort();
    throw error;
  } finally {
    await stored.close();
    await reader.close();
  }
  const orphans = await stager.finish();
  if (orphans !== null) ctx.orphanFiles.push(orphans);
}

function comparePair(a1: string, a2: string, b1: string, b2: string): number {
  return compareOrdinal(a1, b1) || compareOrdinal(a2, b2);
}

/**
 * Steps a cursor of the repository, which must stream in ordinal order or the merge-join would
 * go wrong silently. Synchronous while the cursor's batch lasts (see `Cursor.step`).
 */
function stepInOrder<T>(cursor: Cursor<T>, order: StreamOrder<T>): Promise<void> | undefined {
  const before = cursor.current;
  const moving = cursor.step();
  if (moving !== undefined) return moving.then(() => checkOrder(order, before, cursor.current));
  checkOrder(order, before, cursor.current);
  return undefined;
}

interface StreamOrder<T> {
  outOfOrder(before: T, after: T): boolean;
  show(item: T): string;
}

function checkOrder<T>(order: StreamOrder<T>, before: T | undefined, after: T | undefined): void {
  if (before !== undefined && after !== undefined && order.outOfOrder(before, after)) {
    throw orderError(order.show(before), order.show(after));
  }
}

const HEADS_ORDER: StreamOrder<ComparedResourceHead> = {
  outOfOrder: (before, after) => compareOrdinal(before.pk, after.pk) >= 0,
  show: (h) => showKey(h.pk),
};

/** A pair may come twice in a row (a holder listed once per value it had). */
const PAIRS_ORDER: StreamOrder<StoredLink> = {
  outOfOrder: (before, after) => comparePair(before.key1, before.key2, after.key1, after.key2) > 0,
  show: (l) => showKey(l.key1, l.key2),
};

function advanceInOrder(cursor: Cursor<ComparedResourceHead>): Promise<void> | undefined {
  return stepInOrder(cursor, HEADS_ORDER);
}

function advancePairsInOrder(cursor: Cursor<StoredLink>): Promise<void> | undefined {
  return stepInOrder(cursor, PAIRS_ORDER);
}

function orderError(before: string, after: string): SyncupError {
  return new SyncupError(
    "INTERNAL",
    `The repository returned ${after} after ${before}: its key columns do not sort in ordinal order (on PostgreSQL they must use COLLATE "C").`,
  );
}
