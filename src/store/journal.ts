import { SyncupError } from "../errors.js";
import { DELETED_RESOURCES, taken } from "./apply.js";
import { prefixRange } from "./key-range.js";
import { placeholders, type Dialect, type Driver, type SqlValue } from "./driver.js";

import type { ChangeSelection, Decision } from "../protocol/api.js";

export type { ChangeSelection, Decision } from "../protocol/api.js";

/** One entry of a batch's decision journal. */
export interface DecisionRow {
  readonly id: number;
  readonly batchId: string;
  readonly principal: string;
  readonly role: string;
  readonly at: string;
  readonly action: string;
  readonly changes: number;
  readonly selection: unknown;
  readonly note: string | null;
}

export interface NewDecision {
  readonly principal: string;
  readonly role: string;
  readonly action: string;
  readonly changes: number;
  readonly selection?: unknown;
  readonly note?: string | null;
}

/** The tables a selection reads, by kind of change. */
export const CHANGE_TABLES = {
  resource: { table: "UR_ResourcesChanges", scope: "entity_type", key: "pk", prefix: "r" },
  link: { table: "UR_ResourceLinkChanges", scope: "association", key: "key1", prefix: "l" },
} as const;

export type ChangeKind = keyof typeof CHANGE_TABLES;

const CHUNK = 500;

/**
 * The journal side of the change tables: before-images, what an apply takes along, the
 * decisions on parts of a batch, and the decision journal (`UR_Decisions`).
 */
export class JournalRepository {
  constructor(private readonly db: Driver) {}

  /**
   * Records what the repository holds of the resources a staged batch updates or deletes
   * (their before-image), and the primary keys of the ends of the links it removes, so that
   * the batch can be shown before → after and undone once applied. `resources: false` when
   * the stage recorded the resources' before-images itself (`StagedResource.before`).
   */
  async captureBefore(batchId: string, options: { resources: boolean } = { resources: true }): Promise<void> {
    if (options.resources) {
      await this.db.run(
        `UPDATE UR_ResourcesChanges SET before_uk1 = r.uk1, before_uk2 = r.uk2, before_uk3 = r.uk3, before_hash = r.hash,
                before_properties = r.properties, before_source_hash = r.source_hash
         FROM UR_Resources r
         WHERE UR_ResourcesChanges.batch_id = ? AND UR_ResourcesChanges.operation <> 'insert'
           AND r.id = UR_ResourcesChanges.resource_id`,
        [batchId],
      );
    }
    for (const end of [1, 2]) {
      await this.db.run(
        `UPDATE UR_ResourceLinkChanges SET resource${end}_pk = r.pk
         FROM UR_Resources r
         WHERE UR_ResourceLinkChanges.batch_id = ? AND UR_ResourceLinkChanges.resource${end}_pk IS NULL
           AND r.id = UR_ResourceLinkChanges.resource${end}_id`,
        [batchId],
      );
    }
  }

  /**
   * In an apply, before its deletes: journals the links and mono-valued references that the
   * deleted resources take along and that the batch did not remove itself (`cascaded` = 1).
   * `monoHeld`: the mono-valued columns holding a value in some row (the others hold none).
   */
  async journalCascade(batchId: string, monoHeld: readonly number[]): Promise<void> {
    if ((await this.db.get(`${DELETED_RESOURCES} LIMIT 1`, [batchId])) === undefined) return;
    const columns = `batch_id, operation, association, key1, key2, end1_type, end2_type, resource1_pk, resource2_pk,
                     resource1_id, resource2_id, mono_column, mono_end, cascaded`;
    const deleted = (alias: string) =>
      `${alias}.batch_id = ? AND ${alias}.operation = 'delete' AND ${taken(alias)}`;
    const notDeleted = (id: string) =>
      `NOT EXISTS (SELECT 1 FROM UR_ResourcesChanges o WHERE ${deleted("o")} AND o.resource_id = ${id})`;
    for (const end of [1, 2] as const) {
      await this.db.run(
        `INSERT INTO UR_ResourceLinkChanges (${columns})
         SELECT ?, 'delete', l.association, l.key1, l.key2, r1.entity_type, r2.entity_type, r1.pk, r2.pk,
                l.resource1, l.resource2, NULL, NULL, 1
         FROM ${this.linksOfDeleted(end)} CROSS JOIN UR_Resources r1 CROSS JOIN UR_Resources r2
         WHERE ${deleted("d")} AND l.resource${end} = d.resource_id AND r1.id = l.resource1 AND r2.id = l.resource2
           ${end === 2 ? `AND ${notDeleted("l.resource1")}` : ""}`,
        end === 1 ? [batchId, batchId] : [batchId, batchId, batchId],
      );
    }
    for (const n of monoHeld) {
      const select = `SELECT ?, 'delete', '@i${n}', h.pk, t.pk, h.entity_type, t.entity_type, h.pk, t.pk, h.id, t.id, ${n}, 1, 1
                      FROM UR_Resources h JOIN UR_Resources t ON t.id = h.i${n}`;
      await this.db.run(
        `INSERT INTO UR_ResourceLinkChanges (${columns}) ${select} WHERE h.id IN (${DELETED_RESOURCES}) AND h.i${n} IS NOT NULL`,
        [batchId, batchId],
      );
      await this.db.run(
        `INSERT INTO UR_ResourceLinkChanges (${columns}) ${select}
         WHERE h.i${n} IN (${DELETED_RESOURCES}) AND ${notDeleted("h.id")}`,
        [batchId, batchId, batchId],
      );
    }
  }

  /**
   * `d`, the resources a batch deletes, and `l`, the links whose end `end` is one of them, each
   * found through that end's index. PostgreSQL gets a LATERAL subquery (`OFFSET 0` keeps it one):
   * its estimate of a deleted resource's links is the average of every end, groups included, so
   * it would scan every link (1.5M links: 0.43 s for 3,749 found, against 0.07 s this way).
   * SQLite joins in the order written.
   */
  private linksOfDeleted(end: 1 | 2): string {
    return this.db.dialect === "postgres"
      ? `UR_ResourcesChanges d CROSS JOIN LATERAL (SELECT * FROM UR_ResourceLinks x WHERE x.resource${end} = d.resource_id OFFSET 0) l`
      : "UR_ResourcesChanges d CROSS JOIN UR_ResourceLinks l";
  }

  /** Sets the decision of the selected changes of a batch; returns how many it set, per kind. */
  async decide(
    batchId: string,
    decision: Decision,
    selection: ChangeSelection,
  ): Promise<{ resources: number; links: number }> {
    const counts = { resources: 0, links: 0 };
    for (const kind of ["resource", "link"] as const) {
      const where = selectionWhere(this.db.dialect, kind, batchId, selection);
      if (where === null) continue;
      const n = await this.forChunks(where, (sql, params) =>
        this.db.run(`UPDATE ${CHANGE_TABLES[kind].table} SET decision = ? WHERE ${sql}`, [
          decision,
          ...params,
        ]),
      );
      counts[kind === "resource" ? "resources" : "links"] += n;
    }
    return counts;
  }

  /** How many changes of a batch match a selection, per kind. */
  async count(batchId: string, selection: ChangeSelection): Promise<{ resources: number; links: number }> {
    const counts = { resources: 0, links: 0 };
    for (const kind of ["resource", "link"] as const) {
      const where = selectionWhere(this.db.dialect, kind, batchId, selection);
      if (where === null) continue;
      const n = await this.forChunks(where, async (sql, params) => {
        const row = await this.db.get<{ n: number | string }>(
          `SELECT COUNT(*) AS n FROM ${CHANGE_TABLES[kind].table} WHERE ${sql}`,
          params,
        );
        return Number(row?.n ?? 0);
      });
      counts[kind === "resource" ? "resources" : "links"] += n;
    }
    return counts;
  }

  /**
   * Rejecting a resource's delete rejects the removal of its links (they stay with it);
   * rejecting a resource's insert rejects the links that need it. Returns how many it rejected.
   */
  async rejectDependents(batchId: string): Promise<number> {
    const rejectedDeletes = `SELECT resource_id FROM UR_ResourcesChanges
                             WHERE batch_id = ? AND operation = 'delete' AND decision = 'rejected'`;
    let n = 0;
    for (const end of [1, 2]) {
      n += await this.db.run(
        `UPDATE UR_ResourceLinkChanges SET decision = 'rejected'
         WHERE batch_id = ? AND operation = 'delete' AND ${taken()} AND resource${end}_id IN (${rejectedDeletes})`,
        [batchId, batchId],
      );
      n += await this.db.run(
        `UPDATE UR_ResourceLinkChanges SET decision = 'rejected'
         WHERE batch_id = ? AND operation = 'insert' AND ${taken()} AND resource${end}_id IS NULL
           AND EXISTS (SELECT 1 FROM UR_ResourcesChanges c
                       WHERE c.batch_id = UR_ResourceLinkChanges.batch_id AND c.operation = 'insert'
                         AND c.decision = 'rejected' AND c.entity_type = UR_ResourceLinkChanges.end${end}_type
                         AND c.pk = UR_ResourceLinkChanges.resource${end}_pk)`,
        [batchId],
      );
    }
    return n;
  }

  /** Approved (or undecided) link inserts that need a resource whose insert is rejected: at most `limit`. */
  async brokenLinkInserts(
    batchId: string,
    limit: number,
  ): Promise<{ association: string; key1: string; key2: string; entityType: string; pk: string }[]> {
    return this.db.all(
      `SELECT l.association AS association, l.key1 AS key1, l.key2 AS key2, c.entity_type AS "entityType", c.pk AS pk
       FROM UR_ResourceLinkChanges l JOIN UR_ResourcesChanges c
         ON c.batch_id = l.batch_id AND c.operation = 'insert' AND c.decision = 'rejected'
        AND ((l.resource1_id IS NULL AND c.entity_type = l.end1_type AND c.pk = l.resource1_pk)
          OR (l.resource2_id IS NULL AND c.entity_type = l.end2_type AND c.pk = l.resource2_pk))
       WHERE l.batch_id = ? AND l.operation = 'insert' AND ${taken("l")}
       ORDER BY l.id LIMIT ?`,
      [batchId, limit],
    );
  }

  /** Changes of a batch per decision: approved, rejected, undecided (both kinds together). */
  async tally(batchId: string): Promise<{ approved: number; rejected: number; undecided: number }> {
    const rows = await this.db.all<{ decision: string | null; n: number | string }>(
      `SELECT decision, COUNT(*) AS n FROM UR_ResourcesChanges WHERE batch_id = ? GROUP BY decision
       UNION ALL
       SELECT decision, COUNT(*) AS n FROM UR_ResourceLinkChanges WHERE batch_id = ? AND cascaded = 0 GROUP BY decision`,
      [batchId, batchId],
    );
    const tally = { approved: 0, rejected: 0, undecided: 0 };
    for (const r of rows) {
      const key =
        r.decision === "approved" ? "approved" : r.decision === "rejected" ? "rejected" : "undecided";
      tally[key] += Number(r.n);
    }
    return tally;
  }

  async record(batchId: string, decision: NewDecision): Promise<void> {
    await this.db.run(
      `INSERT INTO UR_Decisions (batch_id, principal, role, at, action, changes, selection, note)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        batchId,
        decision.principal,
        decision.role,
        new Date().toISOString(),
        decision.action,
        decision.changes,
        decision.selection === undefined ? null : JSON.stringify(decision.selection),
        decision.note ?? null,
      ],
    );
  }

  /** A batch's decision journal, oldest first. */
  async decisions(batchId: string): Promise<DecisionRow[]> {
    const rows = await this.db.all<{
      id: number;
      batch_id: string;
      principal: string;
      role: string;
      at: string;
      action: string;
      changes: number | string;
      selection: string | null;
      note: string | null;
    }>("SELECT * FROM UR_Decisions WHERE batch_id = ? ORDER BY id", [batchId]);
    return rows.map((r) => ({
      id: Number(r.id),
      batchId: r.batch_id,
      principal: r.principal,
      role: r.role,
      at: r.at,
      action: r.action,
      changes: Number(r.changes),
      selection: r.selection === null ? null : (JSON.parse(r.selection) as unknown),
      note: r.note,
    }));
  }

  /** Of the ids or keys a selection lists, those that name a change of the batch matching the rest of it. */
  async listedFound(batchId: string, selection: ChangeSelection): Promise<Set<string>> {
    const found = new Set<string>();
    for (const kind of ["resource", "link"] as const) {
      const where = selectionWhere(this.db.dialect, kind, batchId, selection);
      if (where?.list == null) continue;
      const { column } = where.list;
      const prefix = selection.ids !== undefined ? CHANGE_TABLES[kind].prefix : "";
      await this.forChunks(where, async (sql, params) => {
        const rows = await this.db.all<{ v: string | number }>(
          `SELECT DISTINCT ${column} AS v FROM ${CHANGE_TABLES[kind].table} WHERE ${sql}`,
          params,
        );
        for (const r of rows) found.add(`${prefix}${r.v}`);
        return rows.length;
      });
    }
    return found;
  }

  /** Runs `fn` once, or once per chunk of a long id or key list; sums what it returns. */
  private async forChunks(
    where: SelectionWhere,
    fn: (sql: string, params: SqlValue[]) => Promise<number>,
  ): Promise<number> {
    if (where.list === null) return fn(where.sql, where.params);
    let n = 0;
    for (let i = 0; i < where.list.values.length; i += CHUNK) {
      const chunk = where.list.values.slice(i, i + CHUNK);
      n += await fn(`${where.sql} AND ${where.list.column} IN (${placeholders(chunk.length)})`, [
        ...where.params,
        ...chunk,
      ]);
    }
    return n;
  }
}

export interface SelectionWhere {
  sql: string;
  params: SqlValue[];
  /** A list condition applied in chunks (ids, keys). */
  list: { column: string; values: SqlValue[] } | null;
}

/** The WHERE of a selection on one change table; null when the selection excludes the kind. */
export function selectionWhere(
  dialect: Dialect,
  kind: ChangeKind,
  batchId: string,
  s: ChangeSelection,
): SelectionWhere | null {
  const t = CHANGE_TABLES[kind];
  if (s.kind !== undefined && s.kind !== kind) return null;
  // A list of keys is of primary keys (resource changes), unless links are asked for.
  if (s.keys !== undefined && s.kind === undefined && kind === "link") return null;
  if (kind === "link" && (s.entityType !== undefined || s.property !== undefined)) return null;
  if (kind === "resource" && s.association !== undefined) return null;
  const conditions = ["batch_id = ?"];
  const params: SqlValue[] = [batchId];
  if (kind === "link") conditions.push("cascaded = 0");
  if (s.operation !== undefined) {
    conditions.push("operation = ?");
    params.push(s.operation);
  }
  const scope = kind === "resource" ? s.entityType : s.association;
  if (scope !== undefined) {
    conditions.push(`${t.scope} = ?`);
    params.push(scope);
  }
  if (s.keyPrefix !== undefined && s.keyPrefix !== "") {
    const range = prefixRange(t.key, s.keyPrefix);
    conditions.push(range.sql);
    params.push(...range.params);
  }
  if (s.decision !== undefined) {
    conditions.push(s.decision === "undecided" ? "decision IS NULL" : "decision = ?");
    if (s.decision !== "undecided") params.push(s.decision);
  }
  if (s.property !== undefined) {
    conditions.push("operation = 'update' AND before_properties IS NOT NULL");
    conditions.push(propertyChanged(dialect, s.property));
  }
  let list: SelectionWhere["list"] = null;
  if (s.ids !== undefined) {
    const ids = s.ids.filter((id) => id.startsWith(t.prefix)).map((id) => Number(id.slice(1)));
    if (ids.length === 0) return null;
    list = { column: "id", values: ids };
  }
  if (s.keys !== undefined) {
    if (list !== null)
      throw new SyncupError("REQUEST_INVALID", "A selection names change ids or keys, not both.");
    list = { column: t.key, values: [...s.keys] };
  }
  return { sql: conditions.join(" AND "), params, list };
}

/**
 * The condition that a resource change changes `property`: the JSON texts of before and after
 * differ there. The name is checked by the caller to be a plain identifier; it is quoted here.
 */
function propertyChanged(dialect: Dialect, property: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(property)) {
    throw new SyncupError("REQUEST_INVALID", `"${property}" is not a property name (letters, digits and _).`);
  }
  const value = (column: string) =>
    dialect === "postgres"
      ? `(${column}::jsonb -> '${property}')`
      : `json_extract(${column}, '$."${property}"')`;
  return `(${value("before_properties")} IS DISTINCT FROM ${value("properties")})`;
}
