/**
 * Incremental mode: the `.sorted.delta` rows are the changes. Each chunk of rows is checked
 * against the repository (one query per chunk): a change that does not fit what the
 * repository holds — an update or delete of an absent key, an insert of a present one — is a
 * DELTA_UNKNOWN_KEY problem, and the batch fails whole once every file has been read.
 * `merge` becomes an insert or an update of the non-empty cells; an update or merge that
 * changes nothing is not staged.
 */
import type { AssociationMappingDef, EntityTypeMappingDef } from "../config/config.js";
import type { DeltaCommand } from "../core/rows.js";
import { ResourceTranslator, type ConversionProblem, type TranslatedResource } from "../core/translate.js";
import { SyncupError } from "../errors.js";
import type { HeldResource, ResourceImage, StagedResource, StoredLink } from "../store/types.js";
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

interface DeltaRow {
  readonly line: number;
  readonly command: DeltaCommand;
  /** The row as in the file: the command, then the mapping's columns. */
  readonly fields: readonly string[];
}

const COMMANDS: ReadonlySet<string> = new Set(["insert", "update", "delete", "merge"]);

/** The delta rows in chunks, commands checked and keys in strictly increasing order. */
async function* deltaChunks(
  file: PreparedFile,
  keyOf: (fields: readonly string[]) => readonly string[],
  allowed: ReadonlySet<string>,
): AsyncGenerator<DeltaRow[]> {
  const reader = await openPrepared(file, true);
  try {
    const ascending = ascendingKeys(file);
    let chunk: DeltaRow[] = [];
    for await (const rows of reader.rows) {
      for (const row of rows) {
        const command = (row.fields[0] ?? "").toLowerCase();
        if (!allowed.has(command)) {
          throw new SyncupError(
            "DELTA_BAD_COMMAND",
            `"${file.label}" line ${row.line}: command "${row.fields[0] ?? ""}" is not one of ${[...allowed].join(", ")}.`,
            { position: { file: file.label, line: row.line, column: 1 } },
          );
        }
        const fields = row.fields;
        const key = keyOf(fields);
        ascending(row.line, key[0] ?? "", key[1]);
        chunk.push({ line: row.line, command: command as DeltaCommand, fields });
        if (chunk.length >= CHUNK) {
          yield chunk;
          chunk = [];
        }
      }
    }
    if (chunk.length > 0) yield chunk;
  } finally {
    await reader.close();
  }
}

export async function stageIncrementalResources(ctx: StageContext, file: PreparedFile): Promise<void> {
  const mapping = file.mapping as EntityTypeMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const translator = new ResourceTranslator(
    mapping,
    ["command", ...mapping.columns],
    file.label,
    ctx.connector.name,
  );
  const problems: ConversionProblem[] = [];
  const converted = (resource: TranslatedResource | undefined) => {
    for (const problem of problems.splice(0)) ctx.conversion.add(problem);
    return resource;
  };
  for await (const chunk of deltaChunks(file, (f) => [translator.pkOf(f)], COMMANDS)) {
    const pks = chunk.map((r) => translator.pkOf(r.fields));
    const existing = new Map(
      (await ctx.store.resources.findByPks(ctx.connector.name, mapping.name, pks)).map((r) => [r.pk, r]),
    );
    const staged: StagedResource[] = [];
    for (const row of chunk) {
      report.rows++;
      const pk = translator.pkOf(row.fields);
      const held = existing.get(pk);
      const unknown = (what: string) =>
        ctx.unknownKeys.add(
          `"${file.label}" line ${row.line}: ${row.command} of ${mapping.name} ${showKey(pk)}, ${what}`,
        );
      const line = row.line;
      if (row.command === "delete") {
        if (held === undefined) unknown("which the repository does not hold");
        else staged.push({ ...deletion(mapping.name, held, line), before: imageOf(held) });
        continue;
      }
      if (row.command === "insert" && held !== undefined) {
        unknown("which the repository already holds");
        continue;
      }
      if (row.command === "update" && held === undefined) {
        unknown("which the repository does not hold");
        continue;
      }
      const resource =
        row.command === "merge" && held !== undefined
          ? converted(
              translator.merge(row.fields, line, problems, {
                uks: [held.uk1, held.uk2, held.uk3],
                properties: held.properties,
              }),
            )
          : converted(translator.translate(row.fields, line, problems));
      if (resource === undefined) continue;
      const change = changeOf(mapping.name, resource, held, line);
      if (change !== null) {
        staged.push(held === undefined ? change : { ...change, before: imageOf(held) });
      } else {
        report.unchanged++;
      }
    }
    for (const change of staged) {
      if (change.operation === "insert") report.inserted++;
      else if (change.operation === "update") report.updated++;
      else report.deleted++;
    }
    if (ctx.conversion.count === 0 && ctx.unknownKeys.count === 0) {
      await ctx.store.changes.stageResources(ctx.batchId, staged);
    }
  }
}

const LINK_COMMANDS: ReadonlySet<string> = new Set(["insert", "delete", "merge"]);

/**
 * An association's delta rows, then the pairs the batch did not name but must resolve again:
 * stored links whose end the batch deletes or re-keys, and the pairs pending since earlier
 * runs (an end may arrive with this batch). The delete of a pending pair is no drift: the
 * pair leaves the pending ones.
 */
export async function stageIncrementalLinks(ctx: StageContext, file: PreparedFile): Promise<void> {
  const mapping = file.mapping as AssociationMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const scope = linkScopeOf(ctx.config, ctx.connector, mapping);
  const stager = new LinkStager(ctx, mapping, scope, report);
  const connector = ctx.connector.name;
  // The pairs the delta names (a few per change): the later passes leave them alone.
  const named = new Set<string>();
  try {
    for await (const chunk of deltaChunks(file, (f) => [f[1] ?? "", f[2] ?? ""], LINK_COMMANDS)) {
      const pairs = chunk.map((r) => [r.fields[1] ?? "", r.fields[2] ?? ""] as const);
      const stored = new Map<string, StoredLink>(
        (await ctx.store.links.findPairs(ctx.batchId, connector, scope, pairs)).map((l) => [
          pairKey(l.key1, l.key2),
          l,
        ]),
      );
      const pending = new Map(
        (await ctx.store.pending.find(connector, mapping.name, pairs)).map((p) => [
          pairKey(p.key1, p.key2),
          p.missing,
        ]),
      );
      for (const row of chunk) {
        report.rows++;
        const [key1, key2] = [row.fields[1] ?? "", row.fields[2] ?? ""];
        const key = pairKey(key1, key2);
        named.add(key);
        const held = stored.get(key);
        const unknown = (what: string) =>
          ctx.unknownKeys.add(
            `"${file.label}" line ${row.line}: ${row.command} of ${mapping.name} link ${showKey(key1, key2)}, ${what}`,
          );
        if (row.command === "delete") {
          if (held !== undefined) await stager.remove(held, row.line);
          else if (pending.has(key)) await stager.forget(key1, key2, row.line);
          else unknown("which the repository does not hold");
        } else if (held === undefined) {
          const missing = pending.get(key);
          if (missing !== undefined) await stager.retry(row.line, key1, key2, missing);
          else await stager.candidate(row.line, key1, key2);
        } else if (row.command === "insert") {
          unknown("which the repository already holds");
        } else {
          report.unchanged++;
        }
      }
    }
    for await (const page of ctx.store.links.staleOf(ctx.batchId, connector, scope)) {
      for (const link of page) {
        const key = pairKey(link.key1, link.key2);
        if (named.has(key)) continue;
        named.add(key);
        await stager.candidate(null, link.key1, link.key2, link);
      }
    }
    for await (const page of ctx.store.pending.pages(connector, mapping.name)) {
      for (const pair of page) {
        if (!named.has(pairKey(pair.key1, pair.key2)))
          await stager.retry(null, pair.key1, pair.key2, pair.missing);
      }
    }
  } catch (error) {
    await stager.abort();
    throw error;
  }
  const orphans = await stager.finish();
  if (orphans !== null) ctx.orphanFiles.push(orphans);
}

function pairKey(key1: string, key2: string): string {
  return `${key1}\u0000${key2}`;
}

/** A held resource's values, as its change's before-image. */
function imageOf(held: HeldResource): ResourceImage {
  return {
    uks: [held.uk1, held.uk2, held.uk3],
    hash: held.hash,
    properties: held.properties,
    sourceHash: held.source_hash,
  };
}
