/**
 * Initial mode: the first load of a connector. Resources go straight to UR_Resources (COPY on
 * PostgreSQL, prepared inserts on SQLite), in file order, which is key order; then links,
 * bulk-loaded into a scratch table and resolved there in SQL. No staging, no thresholds. The
 * caller runs it in one transaction.
 */
import type { AssociationMappingDef, EntityTypeMappingDef } from "../config/config.js";
import { compareOrdinal, compareOrdinalTuple } from "../core/ordinal.js";
import { ResourceTranslator, type ConversionProblem } from "../core/translate.js";
import type { MonoScope } from "../store/links.js";
import type { NewResource } from "../store/resources.js";
import { linkScopeOf, newMappingReport, showKey, throwProblems, type StageContext } from "./context.js";
import { monoConflictReason } from "./link-stager.js";
import { missingReason, OrphanFile } from "./orphans.js";
import { openPrepared, unsortedError, type PreparedFile } from "./prepared.js";

/**
 * Loads an entity type's file into UR_Resources or, with `into`, into the initial load's
 * scratch table with ids from `into.firstId` on. Returns how many resources it loaded.
 */
export async function loadInitialResources(
  ctx: StageContext,
  file: PreparedFile,
  into?: { readonly firstId: number },
): Promise<number> {
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
    report.inserted = await ctx.store.resources.insertMany(
      ctx.connector.name,
      ctx.batchId,
      resources(),
      into,
    );
  } finally {
    await reader.close();
  }
  return report.inserted;
}

/** Loads an association's file; `resources` is where its ends are (UR_Resources or the scratch table). */
export async function loadInitialLinks(
  ctx: StageContext,
  file: PreparedFile,
  resources = "UR_Resources",
): Promise<void> {
  throwProblems(ctx);
  const mapping = file.mapping as AssociationMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const scope = linkScopeOf(ctx.config, ctx.connector, mapping);
  const orphans = new OrphanFile(ctx.dir, mapping.name);
  const reader = await openPrepared(file, false);
  async function* pairs(): AsyncGenerator<(readonly [number, string, string])[]> {
    let previous: readonly [string, string] | undefined;
    for await (const rows of reader.rows) {
      const batch: (readonly [number, string, string])[] = [];
      for (const row of rows) {
        report.rows++;
        const pair = [row.fields[0] ?? "", row.fields[1] ?? ""] as const;
        if (previous !== undefined && compareOrdinalTuple(previous, pair) >= 0) {
          throw unsortedError(file, row.line, showKey(...pair), showKey(...previous));
        }
        previous = pair;
        batch.push([row.line, pair[0], pair[1]]);
      }
      yield batch;
    }
  }
  try {
    report.inserted = await ctx.store.links.loadInitial(
      ctx.batchId,
      ctx.connector.name,
      scope,
      pairs(),
      resources,
      async (o) => {
        report.orphans++;
        await orphans.add(
          o.line,
          o.key1,
          o.key2,
          o.missing,
          missingReason(o.missing, scope.end1Type, scope.end2Type),
        );
      },
    );
    if (scope.mono !== null) {
      const mono = { ...scope, mono: scope.mono } satisfies MonoScope;
      const conflicts = await ctx.store.links.applyMonoInputs(
        ctx.batchId,
        ctx.connector.name,
        mono,
        resources,
      );
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
