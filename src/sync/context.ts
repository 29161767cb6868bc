/** What the staging steps of one batch share, and the helpers they have in common. */
import type { AssociationMappingDef, Config, ConnectorDef, EntityTypeMappingDef } from "../config/config.js";
import { compareOrdinal } from "../core/ordinal.js";
import {
  formatConversionProblem,
  type ConversionProblem,
  type TranslatedResource,
} from "../core/translate.js";
import { SyncupError } from "../errors.js";
import type { Store } from "../store/store.js";
import type {
  KeyColumn,
  LinkScope,
  ResolvedEnd,
  StagedResource,
  StoredResourceHead,
} from "../store/types.js";
import { unsortedError, type PreparedFile } from "./prepared.js";
import type { MappingReport } from "./types.js";

/** At most this many problems are listed in an error message. */
export const PROBLEMS_LISTED = 20;
/** Rows staged (or keys looked up) per round trip. */
export const CHUNK = 1000;

export class ProblemList<T> {
  readonly items: T[] = [];
  count = 0;

  add(item: T): void {
    this.count++;
    if (this.items.length < PROBLEMS_LISTED) this.items.push(item);
  }
}

export interface StageContext {
  readonly store: Store;
  readonly config: Config;
  readonly connector: ConnectorDef;
  readonly batchId: string;
  readonly dir: string;
  readonly conversion: ProblemList<ConversionProblem>;
  readonly unknownKeys: ProblemList<string>;
  readonly reports: Map<string, MappingReport>;
  readonly orphanFiles: string[];
}

export function newMappingReport(file: PreparedFile): MappingReport {
  return {
    mapping: file.mapping.name,
    kind: file.mapping.kind,
    file: file.label,
    rows: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    unchanged: 0,
    orphans: 0,
    conflicts: 0,
  };
}

/** Throws CONVERSION_FAILED or DELTA_UNKNOWN_KEY when staging found problems: the batch fails whole. */
export function throwProblems(ctx: StageContext): void {
  const { conversion, unknownKeys } = ctx;
  if (conversion.count > 0) {
    const lines = conversion.items.map(formatConversionProblem);
    const more = conversion.count > lines.length ? `\n  … and ${conversion.count - lines.length} more` : "";
    const first = conversion.items[0];
    throw new SyncupError(
      "CONVERSION_FAILED",
      `${conversion.count} value${conversion.count === 1 ? "" : "s"} cannot be converted; nothing was applied. Fix the export or the property's type/format in the configuration:\n${lines.map((l) => `  - ${l}`).join("\n")}${more}`,
      {
        details: lines,
        ...(first === undefined
          ? {}
          : { position: { file: first.file, line: first.line, column: first.columnIndex } }),
      },
    );
  }
  if (unknownKeys.count > 0) {
    const more =
      unknownKeys.count > unknownKeys.items.length
        ? `\n  … and ${unknownKeys.count - unknownKeys.items.length} more`
        : "";
    throw new SyncupError(
      "DELTA_UNKNOWN_KEY",
      `${unknownKeys.count} change${unknownKeys.count === 1 ? "" : "s"} of the incremental batch do${unknownKeys.count === 1 ? "es" : ""} not fit the repository; nothing was applied. The repository and the agent's previous/ state have drifted apart: run a complete synchronization (--mode complete).\n${unknownKeys.items.map((l) => `  - ${l}`).join("\n")}${more}`,
      { details: unknownKeys.items },
    );
  }
}

/** The UR_Resources column through which `column` of an entity type mapping resolves. */
export function keyColumnOf(mapping: EntityTypeMappingDef, column: string): KeyColumn {
  if (column === mapping.primaryKey) return "pk";
  const index = mapping.uniqueKeys.indexOf(column);
  if (index < 0 || index > 2) {
    throw new SyncupError(
      "CONFIG_INVALID",
      `"${column}" is not a key of entity type mapping "${mapping.name}"`,
    );
  }
  return `uk${index + 1}` as KeyColumn;
}

/** The store's view of an association mapping: ends, key columns, mono-valued column. */
export function linkScopeOf(
  config: Config,
  connector: ConnectorDef,
  mapping: AssociationMappingDef,
): LinkScope {
  const association = config.associations[mapping.name];
  const end = (type: string) => {
    const m = connector.entityTypeMappings.find((e) => e.name === type);
    if (m === undefined) {
      throw new SyncupError(
        "CONFIG_INVALID",
        `connector "${connector.name}" has no entity type mapping for "${type}"`,
      );
    }
    return m;
  };
  const end1 = association?.end1.monoColumnIndex ?? null;
  const end2 = association?.end2.monoColumnIndex ?? null;
  return {
    association: mapping.name,
    end1Type: mapping.end1EntityType,
    end2Type: mapping.end2EntityType,
    key1Column: keyColumnOf(end(mapping.end1EntityType), mapping.key1),
    key2Column: keyColumnOf(end(mapping.end2EntityType), mapping.key2),
    mono: end1 !== null ? { column: end1, end: 1 } : end2 !== null ? { column: end2, end: 2 } : null,
  };
}

/**
 * Finds the resources with these key values in the repository as it will be once the batch
 * is applied (`staged`), or as it is (an initial load). When a unique key value is held by several resources, the one with the lowest
 * primary key (ordinal order) is taken, so that the choice is the same on every run.
 */
export async function resolveKeys(
  ctx: Pick<StageContext, "store" | "batchId" | "connector">,
  entityType: string,
  column: KeyColumn,
  values: Iterable<string>,
  staged = true,
): Promise<Map<string, ResolvedEnd>> {
  const found = new Map<string, ResolvedEnd>();
  const distinct = [...new Set(values)];
  for (let i = 0; i < distinct.length; i += CHUNK) {
    const rows = await ctx.store.resources.resolve(
      staged ? ctx.batchId : null,
      ctx.connector.name,
      entityType,
      column,
      distinct.slice(i, i + CHUNK),
    );
    for (const row of rows) {
      const seen = found.get(row.k);
      if (seen === undefined || compareOrdinal(row.pk, seen.pk) < 0) found.set(row.k, row);
    }
  }
  return found;
}

/** `"a"` or `("a", "b")`, for messages. */
export function showKey(...keys: string[]): string {
  return keys.length === 1 ? JSON.stringify(keys[0]) : `(${keys.map((k) => JSON.stringify(k)).join(", ")})`;
}

/**
 * A check of a prepared file's keys (an entity's primary key, or an association's pair), row
 * after row: each after the one before in ordinal order, as prepare sorted them (and so each
 * once), or PREPARED_FILE_INVALID.
 */
export function ascendingKeys(file: PreparedFile): (line: number, key1: string, key2?: string) => void {
  let previous: readonly [string, string | undefined] | undefined;
  return (line, key1, key2) => {
    if (
      previous !== undefined &&
      (compareOrdinal(previous[0], key1) ||
        (key2 === undefined ? 0 : compareOrdinal(previous[1] ?? "", key2))) >= 0
    ) {
      const shown = (k1: string, k2: string | undefined) =>
        k2 === undefined ? showKey(k1) : showKey(k1, k2);
      throw unsortedError(file, line, shown(key1, key2), shown(...previous));
    }
    previous = [key1, key2];
  };
}

/**
 * What a translated row is to the resource its key holds in the repository, if any: an insert,
 * an update (re-linking when a unique key moves), or null when the content is the same.
 */
export function changeOf(
  entityType: string,
  resource: TranslatedResource,
  held: StoredResourceHead | undefined,
  line: number,
): StagedResource | null {
  if (held === undefined) {
    return { operation: "insert", entityType, ...resource, resourceId: null, relinks: false, line };
  }
  if (held.hash === resource.hash) return null;
  const rekeyed =
    held.uk1 !== resource.uks[0] || held.uk2 !== resource.uks[1] || held.uk3 !== resource.uks[2];
  return { operation: "update", entityType, ...resource, resourceId: held.id, relinks: rekeyed, line };
}

/** The staged delete of a stored resource (complete: no line; incremental: the delta's line). */
export function deletion(entityType: string, held: StoredResourceHead, line: number | null): StagedResource {
  return {
    operation: "delete",
    entityType,
    pk: held.pk,
    uks: [held.uk1, held.uk2, held.uk3],
    hash: null,
    properties: null,
    sourceHash: null,
    resourceId: held.id,
    relinks: true,
    line,
  };
}
