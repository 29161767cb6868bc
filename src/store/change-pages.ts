import { SyncupError } from "../errors.js";
import type { ChangePage, ChangePageQuery, ChangeRow, HistoryEntry } from "../protocol/api.js";
import type { Driver, SqlValue } from "./driver.js";
import { CHANGE_TABLES, selectionWhere, type ChangeKind, type ChangeSelection } from "./journal.js";

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

/** Where a page starts: after the change `id` of `kind` (resources come before links). */
interface Cursor {
  readonly kind: ChangeKind;
  readonly id: number;
}

/**
 * Pages through a batch's changes with keyset paging — resources by id, then links by id — so
 * that the last page of a million changes costs what the first does. Ids are the staging
 * order. The total is counted on the first page only.
 */
export class ChangePager {
  constructor(private readonly db: Driver) {}

  async page(batchId: string, query: ChangePageQuery): Promise<ChangePage> {
    const cursor = query.after === undefined ? null : decodeCursor(query.after);
    const rows: ChangeRow[] = [];
    let next: string | null = null;
    for (const kind of ["resource", "link"] as const) {
      if (cursor?.kind === "link" && kind === "resource") continue;
      const where = selectionWhere(this.db.dialect, kind, batchId, query);
      if (where === null) continue;
      const room = query.limit - rows.length;
      if (room <= 0) {
        // The page is full: a next page exists when this kind has any matching change.
        if (next === null && (await this.fetch(kind, where, null, 1)).length > 0)
          next = encodeCursor(last(rows));
        break;
      }
      const from = cursor?.kind === kind ? cursor.id : null;
      const found = await this.fetch(kind, where, from, room + 1);
      rows.push(...found.slice(0, room));
      if (found.length > room) {
        next = encodeCursor(last(rows));
        break;
      }
    }
    const total = cursor === null ? await this.total(batchId, query) : null;
    return { rows, next, total };
  }

  /** The journal of one primary key of a connector (`journalOf`). */
  history(connector: string, pk: string): Promise<JournalEntry[]> {
    return journalOf(this.db, connector, pk);
  }

  private async fetch(
    kind: ChangeKind,
    where: NonNullable<ReturnType<typeof selectionWhere>>,
    after: number | null,
    limit: number,
  ): Promise<ChangeRow[]> {
    const t = CHANGE_TABLES[kind];
    let sql = where.sql;
    const params: SqlValue[] = [...where.params];
    if (where.list !== null) {
      if (where.list.values.length > 1000) {
        throw new SyncupError("REQUEST_INVALID", "A page's selection lists at most 1,000 ids or keys.");
      }
      sql += ` AND ${where.list.column} IN (${where.list.values.map(() => "?").join(", ")})`;
      params.push(...where.list.values);
    }
    if (after !== null) {
      sql += " AND id > ?";
      params.push(after);
    }
    const columns =
      kind === "resource"
        ? "id, operation, entity_type, pk, properties, before_properties, decision, line"
        : "id, operation, association, key1, key2, end1_type, end2_type, resource1_pk, resource2_pk, decision, cascaded, line";
    const records = await this.db.all<ResourceChangeRecord | LinkChangeRecord>(
      `SELECT ${columns} FROM ${t.table} WHERE ${sql} ORDER BY id LIMIT ?`,
      [...params, limit],
    );
    return kind === "resource"
      ? (records as ResourceChangeRecord[]).map(resourceView)
      : (records as LinkChangeRecord[]).map(linkView);
  }

  private async total(batchId: string, query: ChangeSelection): Promise<number> {
    let n = 0;
    for (const kind of ["resource", "link"] as const) {
      const where = selectionWhere(this.db.dialect, kind, batchId, query);
      if (where === null) continue;
      let sql = where.sql;
      const params = [...where.params];
      if (where.list !== null) {
        sql += ` AND ${where.list.column} IN (${where.list.values.map(() => "?").join(", ")})`;
        params.push(...where.list.values);
      }
      const row = await this.db.get<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM ${CHANGE_TABLES[kind].table} WHERE ${sql}`,
        params,
      );
      n += Number(row?.n ?? 0);
    }
    return n;
  }
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

function last(rows: readonly ChangeRow[]): ChangeRow {
  const row = rows[rows.length - 1];
  if (row === undefined) throw new Error("unreachable: a full page without rows");
  return row;
}

function encodeCursor(row: ChangeRow): string {
  return row.id;
}

function decodeCursor(text: string): Cursor {
  const match = /^([rl])([1-9][0-9]{0,15})$/.exec(text);
  if (match === null) {
    throw new SyncupError(
      "REQUEST_INVALID",
      `"${text}" is not a page cursor: pass the \`next\` value of the previous page.`,
    );
  }
  return { kind: match[1] === "r" ? "resource" : "link", id: Number(match[2]) };
}

function parseValues(text: string | null): Record<string, unknown> | null {
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
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
