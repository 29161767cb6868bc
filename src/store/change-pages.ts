import { SyncupError } from "../errors.js";
import type { ChangePage, ChangePageQuery, ChangeRow, HistoryEntry } from "../protocol/api.js";
import { placeholders, type Driver, type SqlValue } from "./driver.js";
import {
  CHANGE_TABLES,
  selectionWhere,
  type ChangeKind,
  type ChangeSelection,
  type SelectionWhere,
} from "./journal.js";

export type { ChangePageQuery } from "../protocol/api.js";

interface ResourceChangeRecord {
  id: number;
  operation: string;
  entity_type: string;
  pk: string;
  properties: string | null;
  before_properties: string | null;
  decision: string | null;
  line: number | null;
}

interface LinkChangeRecord {
  id: number;
  operation: string;
  association: string;
  key1: string;
  key2: string;
  end1_type: string;
  end2_type: string;
  resource1_pk: string | null;
  resource2_pk: string | null;
  decision: string | null;
  cascaded: number;
  line: number | null;
}

/** The states in which a batch keeps its change rows. */
const KEPT = ["blocked", "previewed", "applied"];

/** How many matching changes a first page counts at most, when the batch's report cannot say. */
export const TOTAL_CAP = 10_000;

/**
 * A run of a page's order: the resource changes (by id, or — with a key prefix — those of one
 * entity type by key, so that the prefix is a range of an index), then the link changes by id.
 */
interface Segment {
  readonly kind: ChangeKind;
  readonly where: SelectionWhere;
  readonly byKey: boolean;
}

/** Where a page starts: after `value` (an id, or a key) in segment `segment`. */
export interface Cursor {
  readonly segment: number;
  readonly value: number | string;
}

interface MappingCounts {
  mapping: string;
  kind: "entity" | "association";
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * Pages through a batch's changes with keyset paging, so that the last page of a million
 * changes costs what the first does: resources in staging order (by key within each entity
 * type when a key prefix is asked, the prefix being a range of the key index), then links in
 * staging order. The total is given on the first page: from the batch's report when the
 * filters are its own (kind, operation, entity type, association), else counted up to
 * `TOTAL_CAP` (`totalExact` false beyond).
 */
export class ChangePager {
  constructor(private readonly db: Driver) {}

  async page(batchId: string, query: ChangePageQuery): Promise<ChangePage> {
    const cursor = query.after === undefined ? null : decodeCursor(query.after);
    const segments = await this.segments(batchId, query);
    const rows: ChangeRow[] = [];
    let next: string | null = null;
    let lastValue: { segment: number; value: number | string } | null = null;
    for (let i = cursor?.segment ?? 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const room = query.limit - rows.length;
      if (room <= 0) {
        // The page is full: a next page exists when a later segment has a change.
        if ((await this.fetch(segment, null, 1)).length > 0 && lastValue !== null)
          next = encodeCursor(lastValue);
        if (next !== null) break;
        continue;
      }
      const after = cursor?.segment === i ? cursor.value : null;
      const found = await this.fetch(segment, after, room + 1);
      const taken = found.slice(0, room);
      rows.push(...taken.map((f) => f.row));
      const end = taken[taken.length - 1];
      if (end !== undefined) lastValue = { segment: i, value: end.value };
      if (found.length > room && lastValue !== null) {
        next = encodeCursor(lastValue);
        break;
      }
    }
    const total = cursor === null ? await this.total(batchId, query, segments) : null;
    return { rows, next, total: total?.n ?? null, totalExact: total?.exact ?? false };
  }

  /** The journal of one primary key of a connector (`journalOf`). */
  history(connector: string, pk: string): Promise<JournalEntry[]> {
    return journalOf(this.db, connector, pk);
  }

  private async segments(batchId: string, query: ChangePageQuery): Promise<Segment[]> {
    const segments: Segment[] = [];
    const resources = selectionWhere(this.db.dialect, "resource", batchId, query);
    if (resources !== null) {
      if (query.keyPrefix === undefined || query.keyPrefix === "") {
        segments.push({ kind: "resource", where: resources, byKey: false });
      } else {
        const types = query.entityType !== undefined ? [query.entityType] : await this.entityTypes(batchId);
        for (const type of types) {
          const where = {
            ...resources,
            sql: `${resources.sql} AND entity_type = ?`,
            params: [...resources.params, type],
          };
          segments.push({ kind: "resource", where, byKey: true });
        }
      }
    }
    const links = selectionWhere(this.db.dialect, "link", batchId, query);
    if (links !== null) segments.push({ kind: "link", where: links, byKey: false });
    return segments;
  }

  /** The entity types a batch changes: its report's, else those of its change rows. */
  private async entityTypes(batchId: string): Promise<string[]> {
    const mappings = await this.mappings(batchId);
    const named = mappings?.filter((m) => m.kind === "entity").map((m) => m.mapping) ?? [];
    if (named.length > 0) return named;
    const rows = await this.db.all<{ entity_type: string }>(
      "SELECT DISTINCT entity_type FROM UR_ResourcesChanges WHERE batch_id = ? ORDER BY entity_type",
      [batchId],
    );
    return rows.map((r) => r.entity_type);
  }

  private async mappings(batchId: string): Promise<MappingCounts[] | null> {
    const row = await this.db.get<{ report: string | null; state: string }>(
      "SELECT report, state FROM UR_Batches WHERE id = ?",
      [batchId],
    );
    // Only a batch that keeps its changes (staged, or journaled) counts them in its report.
    if (row?.report === null || row?.report === undefined || !KEPT.includes(row.state)) return null;
    const report = JSON.parse(row.report) as { mappings?: MappingCounts[] };
    return report.mappings !== undefined && report.mappings.length > 0 ? report.mappings : null;
  }

  private async fetch(
    segment: Segment,
    after: number | string | null,
    limit: number,
  ): Promise<{ row: ChangeRow; value: number | string }[]> {
    const { kind, where, byKey } = segment;
    const t = CHANGE_TABLES[kind];
    let sql = where.sql;
    const params: SqlValue[] = [...where.params];
    if (where.list !== null) {
      if (where.list.values.length > 1000) {
        throw new SyncupError("REQUEST_INVALID", "A page's selection lists at most 1,000 ids or keys.");
      }
      sql += ` AND ${where.list.column} IN (${placeholders(where.list.values.length)})`;
      params.push(...where.list.values);
    }
    const order = byKey ? t.key : "id";
    if (after !== null) {
      if (typeof after !== (byKey ? "string" : "number")) throw invalidCursor(String(after));
      sql += ` AND ${order} > ?`;
      params.push(after);
    }
    const columns =
      kind === "resource"
        ? "id, operation, entity_type, pk, properties, before_properties, decision, line"
        : "id, operation, association, key1, key2, end1_type, end2_type, resource1_pk, resource2_pk, decision, cascaded, line";
    const records = await this.db.all<ResourceChangeRecord | LinkChangeRecord>(
      `SELECT ${columns} FROM ${t.table} WHERE ${sql} ORDER BY ${order} LIMIT ?`,
      [...params, limit],
    );
    return kind === "resource"
      ? (records as ResourceChangeRecord[]).map((r) => ({
          row: resourceView(r),
          value: byKey ? r.pk : Number(r.id),
        }))
      : (records as LinkChangeRecord[]).map((r) => ({ row: linkView(r), value: Number(r.id) }));
  }

  private async total(
    batchId: string,
    query: ChangeSelection,
    segments: readonly Segment[],
  ): Promise<{ n: number; exact: boolean }> {
    const own =
      query.keyPrefix === undefined &&
      query.property === undefined &&
      query.decision === undefined &&
      query.ids === undefined &&
      query.keys === undefined;
    const mappings = own ? await this.mappings(batchId) : null;
    if (mappings !== null) {
      let n = 0;
      for (const m of mappings) {
        const kind = m.kind === "entity" ? "resource" : "link";
        if (query.kind !== undefined && query.kind !== kind) continue;
        if (kind === "resource" ? query.association !== undefined : query.entityType !== undefined) continue;
        const scope = kind === "resource" ? query.entityType : query.association;
        if (scope !== undefined && scope !== m.mapping) continue;
        for (const op of ["insert", "update", "delete"] as const) {
          if (query.operation === undefined || query.operation === op)
            n += Number(m[op === "insert" ? "inserted" : op === "update" ? "updated" : "deleted"]);
        }
      }
      return { n, exact: true };
    }
    let n = 0;
    for (const segment of segments) {
      if (n > TOTAL_CAP) break;
      let sql = segment.where.sql;
      const params = [...segment.where.params];
      if (segment.where.list !== null) {
        sql += ` AND ${segment.where.list.column} IN (${placeholders(segment.where.list.values.length)})`;
        params.push(...segment.where.list.values);
      }
      const row = await this.db.get<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${CHANGE_TABLES[segment.kind].table} WHERE ${sql} LIMIT ?) x`,
        [...params, TOTAL_CAP + 1 - n],
      );
      n += Number(row?.n ?? 0);
    }
    return n > TOTAL_CAP ? { n: TOTAL_CAP, exact: false } : { n, exact: true };
  }
}

/** The cursor of the page after `value` (an id, or a key) of segment `segment` (0: the resources by id). */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.segment, cursor.value])).toString("base64url");
}

function invalidCursor(text: string): SyncupError {
  return new SyncupError(
    "REQUEST_INVALID",
    `"${text.slice(0, 60)}" is not a page cursor: pass the \`next\` value of the previous page, with the same filters.`,
  );
}

function decodeCursor(text: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw invalidCursor(text);
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isInteger(parsed[0]) ||
    (parsed[0] as number) < 0 ||
    (typeof parsed[1] !== "string" && !Number.isInteger(parsed[1]))
  ) {
    throw invalidCursor(text);
  }
  return { segment: parsed[0] as number, value: parsed[1] as number | string };
}

function parseValues(text: string | null): Record<string, unknown> | null {
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
}

/** A change of a resource or of one of its links, in the batch that applied it. */
export type JournalEntry = Omit<HistoryEntry, "decidedBy">;

const RESOURCE_COLUMNS =
  "c.id, c.operation, c.entity_type, c.pk, c.properties, c.before_properties, c.decision, c.line";
const LINK_COLUMNS = `c.id, c.operation, c.association, c.key1, c.key2, c.end1_type, c.end2_type, c.resource1_pk,
                      c.resource2_pk, c.decision, c.cascaded, c.line`;
const BATCH_COLUMNS = `b.id AS batch, b.seq AS seq, b.mode AS mode, b.finished_at AS finished, b.undo_of AS undo_of`;

interface BatchColumns {
  batch: string;
  seq: number;
  mode: string;
  finished: string | null;
  undo_of: string | null;
}

/**
 * The journal of one primary key of a connector: every change applied to the resource (of any
 * entity type with that key) and to its links, oldest first. Rejected changes are left out.
 */
export async function journalOf(db: Driver, connector: string, pk: string): Promise<JournalEntry[]> {
  const applied = `JOIN UR_Batches b ON b.id = c.batch_id AND b.connector = ? AND b.state = 'applied'`;
  const resources = await db.all<ResourceChangeRecord & BatchColumns>(
    `SELECT ${RESOURCE_COLUMNS}, ${BATCH_COLUMNS} FROM UR_ResourcesChanges c ${applied}
     WHERE c.pk = ? AND (c.decision IS NULL OR c.decision <> 'rejected')`,
    [connector, pk],
  );
  const links = await db.all<LinkChangeRecord & BatchColumns>(
    `SELECT ${LINK_COLUMNS}, ${BATCH_COLUMNS} FROM UR_ResourceLinkChanges c ${applied}
     WHERE (c.resource1_pk = ? OR c.resource2_pk = ?) AND (c.decision IS NULL OR c.decision <> 'rejected')`,
    [connector, pk, pk],
  );
  const entry = (r: BatchColumns, change: ChangeRow): JournalEntry => ({
    batchId: r.batch,
    seq: Number(r.seq),
    mode: r.mode,
    finishedAt: r.finished,
    undoOf: r.undo_of,
    change,
  });
  return [
    ...resources.map((r) => ({ order: 0, id: Number(r.id), entry: entry(r, resourceView(r)) })),
    ...links.map((l) => ({ order: 1, id: Number(l.id), entry: entry(l, linkView(l)) })),
  ]
    .sort((a, b) => a.entry.seq - b.entry.seq || a.order - b.order || a.id - b.id)
    .map((e) => e.entry);
}

/** The properties whose values differ between two images (a missing image has none). */
export function changedProperties(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): string[] {
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...names].filter((name) => JSON.stringify(before?.[name]) !== JSON.stringify(after?.[name]));
}

function decisionOf(text: string | null): ChangeRow["decision"] {
  return text === "approved" || text === "rejected" ? text : null;
}

function resourceView(r: ResourceChangeRecord): ChangeRow {
  const before = parseValues(r.before_properties);
  const after = r.operation === "delete" ? null : parseValues(r.properties);
  return {
    id: `r${r.id}`,
    kind: "resource",
    operation: r.operation,
    entityType: r.entity_type,
    association: null,
    key: r.pk,
    key2: null,
    before,
    after,
    changed: changedProperties(before, after),
    link: null,
    decision: decisionOf(r.decision),
    line: r.line === null ? null : Number(r.line),
  };
}

function linkView(r: LinkChangeRecord): ChangeRow {
  return {
    id: `l${r.id}`,
    kind: "link",
    operation: r.operation,
    entityType: null,
    association: r.association,
    key: r.key1,
    key2: r.key2,
    before: null,
    after: null,
    changed: [],
    link: {
      end1Type: r.end1_type,
      end1Key: r.resource1_pk,
      end2Type: r.end2_type,
      end2Key: r.resource2_pk,
      cascaded: Number(r.cascaded) === 1,
    },
    decision: decisionOf(r.decision),
    line: r.line === null ? null : Number(r.line),
  };
}
