/**
 * Initial mode: the first load of a connector. Resources go straight to UR_Resources (COPY on
 * PostgreSQL, prepared inserts on SQLite), in file order, which is key order; then links,
 * whose ends are resolved by key in chunks. No staging, no thresholds. The caller runs it in
 * one transaction.
 */
import type { AssociationMappingDef, EntityTypeMappingDef } from "../config/config.js";
import { compareOrdinal, compareOrdinalTuple } from "../core/ordinal.js";
import { ResourceTranslator, type ConversionProblem } from "../core/translate.js";
import type { MonoScope, NewLink } from "../store/links.js";
import type { NewResource } from "../store/resources.js";
import {
  CHUNK,
  linkScopeOf,
  newMappingReport,
  resolveKeys,
  showKey,
  throwProblems,
  type StageContext,
} from "./context.js";
import { monoConflictReason } from "./link-stager.js";
import { missingReason, OrphanFile } from "./orphans.js";
import { openPrepared, unsortedError, type PreparedFile } from "./prepared.js";

/** Links resolved and loaded per round: one COPY each (resolution goes by CHUNK keys). */
const LINK_CHUNK = 10 * CHUNK;

export async function loadInitialResources(ctx: StageContext, file: PreparedFile): Promise<void> {
  const mapping = file.mapping as EntityTypeMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const reader = await openPrepared(file, false);
  const translator = new ResourceTranslator(mapping, reader.header, file.label, ctx.connector.name);
  const problems: ConversionProblem[] = [];
  async function* resources(): AsyncGenerator<NewResource[]> {
    let previous: string | undefined;
    for await (const rows of reader.rows) {
      const batch: NewResource[] = [];
      for (const row of rows) {
        report.rows++;
        const pk = translator.pkOf(row.fields);
        if (previous !== undefined && compareOrdinal(previous, pk) >= 0) {
          throw unsortedError(file, row.line, showKey(pk), showKey(previous));
        }
        previous = pk;
        const resource = translator.translate(row.fields, row.line, problems);
        for (const problem of problems.splice(0)) ctx.conversion.add(problem);
        if (resource !== undefined) batch.push({ entityType: mapping.name, ...resource });
      }
      // Once a value fails the load is rolled back: stop sending rows, keep reading for the report.
      if (ctx.conversion.count === 0) yield batch;
    }
  }
  try {
    report.inserted = await ctx.store.resources.insertMany(ctx.connector.name, ctx.batchId, resources());
  } finally {
    await reader.close();
  }
}

export async function loadInitialLinks(ctx: StageContext, file: PreparedFile): Promise<void> {
  throwProblems(ctx);
  const mapping = file.mapping as AssociationMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const scope = linkScopeOf(ctx.config, ctx.connector, mapping);
  const mono = scope.mono === null ? null : ({ ...scope, mono: scope.mono } satisfies MonoScope);
  const orphans = new OrphanFile(ctx.dir, mapping.name);
  const reader = await openPrepared(file, false);
  try {
    let previous: readonly string[] | undefined;
    let chunk: NewLink[] = [];
    const flush = async () => {
      const found = await resolveChunk(ctx, scope, chunk, orphans, report);
      chunk = [];
      if (mono === null)
        await ctx.store.links.insertMany(ctx.connector.name, ctx.batchId, mapping.name, found);
      else await ctx.store.links.addMonoInputs(ctx.batchId, mono, found);
      report.inserted += found.length;
    };
    for await (const rows of reader.rows) {
      for (const row of rows) {
        report.rows++;
        const pair = [row.fields[0] ?? "", row.fields[1] ?? ""] as const;
        if (previous !== undefined && compareOrdinalTuple(previous, pair) >= 0) {
          throw unsortedError(file, row.line, showKey(...pair), showKey(...previous));
        }
        previous = pair;
        chunk.push({ key1: pair[0], key2: pair[1], resource1: 0, resource2: 0, line: row.line });
        if (chunk.length >= LINK_CHUNK) await flush();
      }
    }
    await flush();
    if (mono !== null) {
      const conflicts = await ctx.store.links.applyMonoInputs(ctx.batchId, ctx.connector.name, mono);
      for (const c of conflicts) {
        await orphans.add(c.line, c.key1, c.key2, "", monoConflictReason(mono.mono, c.winner1, c.winner2));
      }
      report.inserted -= conflicts.length;
      report.conflicts += conflicts.length;
    }
  } catch (error) {
    await orphans.abort();
    throw error;
  } finally {
    await reader.close();
  }
  const path = await orphans.close();
  if (path !== null) ctx.orphanFiles.push(path);
}

/** The pairs of `chunk` whose two ends are found, ids filled in; the others go to the orphans file. */
async function resolveChunk(
  ctx: StageContext,
  scope: ReturnType<typeof linkScopeOf>,
  chunk: readonly NewLink[],
  orphans: OrphanFile,
  report: { orphans: number },
): Promise<NewLink[]> {
  if (chunk.length === 0) return [];
  const ends1 = await resolveKeys(
    ctx,
    scope.end1Type,
    scope.key1Column,
    chunk.map((l) => l.key1),
    false,
  );
  const ends2 = await resolveKeys(
    ctx,
    scope.end2Type,
    scope.key2Column,
    chunk.map((l) => l.key2),
    false,
  );
  const found: NewLink[] = [];
  for (const link of chunk) {
    const id1 = ends1.get(link.key1)?.id ?? null;
    const id2 = ends2.get(link.key2)?.id ?? null;
    if (id1 !== null && id2 !== null) {
      found.push({ ...link, resource1: id1, resource2: id2 });
      continue;
    }
    const missing = id1 === null && id2 === null ? "both" : id1 === null ? "end1" : "end2";
    await orphans.add(
      link.line,
      link.key1,
      link.key2,
      missing,
      missingReason(missing, scope.end1Type, scope.end2Type),
    );
    report.orphans++;
  }
  return found;
}
