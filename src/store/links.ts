import { BATCH_SEQ } from "./batch-seq.js";
import { emptyTables, placeholders, type Driver, type SqlValue } from "./driver.js";
import { MONO_SCRATCH, RESOURCE_SCRATCH } from "./resources.js";
import type { KeyColumn, LinkRow, LinkScope, MonoConflict, StoredLink } from "./types.js";

/**
 * The id of the resource (of the connector and entity type given as parameters) whose unique
 * key `column` is `key`; a value held by several resources resolves to the lowest primary key.
 * The order is by an expression of the key: ordered by the column, SQLite (which has no
 * statistics) walks the primary key index in order until a row holds the value, once per
 * link — 30,000 links resolved by unique key took a minute. This way it looks the value up
 * by its index and sorts the few resources holding it.
 */
function heldBy(resources: string, column: KeyColumn, key: string): string {
  return `(SELECT r.id FROM ${resources} r WHERE r.connector = ? AND r.entity_type = ? AND r.${column} = ${key}
           ORDER BY r.pk || '' LIMIT 1)`;
}

/** A pair of an association file with an end that no resource has. */
export interface Orphan {
  line: number;
  key1: string;
  key2: string;
  missing: "end1" | "end2" | "both";
}

/** An association whose links are stored in a mono-valued column. */
export type MonoScope = LinkScope & { readonly mono: NonNullable<LinkScope["mono"]> };

/**
 * `UR_ResourceLinks` and the mono-valued columns of `UR_Resources`, seen alike as pairs of
 * key values. A mono-valued link has no row of its own: its pair is derived from the keys of
 * the resource holding the column and of the resource it points to.
 */
export class LinkRepository {
  constructor(private readonly db: Driver) {}

  /**
   * The association's stored pairs in (key1, key2) order, for the complete merge-join. `stale`
   * flags pairs whose ends the staged resource changes of `batchId` delete or re-key.
   */
  streamPairs(batchId: string, connector: string, scope: LinkScope): AsyncIterable<StoredLink[]> {
    const { sql, params } = this.pairsQuery(batchId, connector, scope);
    // A holder has one value: when it is end 1 and keyed by its primary key, key1 alone orders
    // the pairs, in the order of the primary key's index (no sort before the first row).
    const byHolderPk = scope.mono?.end === 1 && scope.key1Column === "pk";
    return this.db.stream<StoredLink>(`${sql} ORDER BY ${byHolderPk ? "key1" : "key1, key2"}`, params);
  }

  /** The stored pairs among `pairs` (incremental). */
  async findPairs(
    batchId: string,
    connector: string,
    scope: LinkScope,
    pairs: readonly (readonly [string, string])[],
  ): Promise<StoredLink[]> {
    if (pairs.length === 0) return [];
    if (scope.mono === null) {
      // Each pair exactly, through UR_ResourceLinks' primary key (a group's key1 may have many members).
      const distinct = [...new Map(pairs.map((p) => [`${p[0]}\u0000${p[1]}`, p])).values()];
      const { sql, params } = this.pairsQuery(batchId, connector, scope, "pairs", distinct.length);
      return this.db.all<StoredLink>(sql, [...params, ...distinct.flat()]);
    }
    // Look up by the holder's key, which an index serves; then keep the pairs asked for.
    const byKey2 = scope.mono.end === 2;
    const values = [...new Set(pairs.map((p) => (byKey2 ? p[1] : p[0])))];
    const { sql, params } = this.pairsQuery(
      batchId,
      connector,
      scope,
      byKey2 ? "key2" : "key1",
      values.length,
    );
    const wanted = new Set(pairs.map((p) => `${p[0]}\u0000${p[1]}`));
    const rows = await this.db.all<StoredLink>(sql, [...params, ...values]);
    return rows.filter((r) => wanted.has(`${r.key1}\u0000${r.key2}`));
  }

  /**
   * The association's stored pairs with an end that the staged resource changes of `batchId`
   * delete or re-key (incremental): each must be resolved again. Found from the batch's
   * changes through the indexes on the ends, never by a pass over the association.
   */
  async *staleOf(batchId: string, connector: string, scope: LinkScope): AsyncGenerator<StoredLink[]> {
    let sql: string;
    let params: SqlValue[];
    if (scope.mono === null) {
      const through = (end: 1 | 2) =>
        `SELECT l.key1 AS key1, l.key2 AS key2, l.resource1 AS resource1, l.resource2 AS resource2, 1 AS stale
         FROM UR_ResourcesChanges c JOIN UR_ResourceLinks l ON l.resource${end} = c.resource_id
         WHERE c.batch_id = ? AND c.relinks = 1 AND l.connector = ? AND l.association = ?`;
      sql = `${through(1)} UNION ${through(2)}`;
      params = [batchId, connector, scope.association, batchId, connector, scope.association];
    } else {
      const column = `i${scope.mono.column}`;
      const [r1, r2] = scope.mono.end === 1 ? ["h", "t"] : ["t", "h"];
      const key = (alias: string, keyColumn: KeyColumn) =>
        keyColumn === "pk" ? `${alias}.pk` : `COALESCE(${alias}.${keyColumn}, '')`;
      const holderType = scope.mono.end === 1 ? scope.end1Type : scope.end2Type;
      // The holder re-keyed or deleted, or the resource it points to. The staged rows lead
      // (CROSS JOIN), and the filters on the holder are expressions that no index serves:
      // otherwise SQLite walks the entity type's rows by them instead of looking up the ids.
      const through = (join: string) =>
        `SELECT ${key(r1, scope.key1Column)} AS key1, ${key(r2, scope.key2Column)} AS key2,
                ${r1}.id AS resource1, ${r2}.id AS resource2, 1 AS stale
         FROM UR_ResourcesChanges c CROSS JOIN UR_Resources h CROSS JOIN UR_Resources t
         WHERE c.batch_id = ? AND c.relinks = 1 AND ${join} AND t.id = h.${column}
           AND h.connector || '' = ? AND h.entity_type || '' = ?`;
      sql = `${through("h.id = c.resource_id")} UNION ${through(`h.${column} = c.resource_id`)}`;
      params = [batchId, connector, holderType, batchId, connector, holderType];
    }
    const rows = await this.db.all<StoredLink>(sql, params);
    if (rows.length > 0) yield rows;
  }

  /**
   * Initial load of an association, in SQL: the file's pairs are bulk-loaded into a scratch
   * table and both ends looked up by index (a unique key held by several resources resolves
   * to the lowest primary key, as in `resolveKeys`) as the resolved pairs are inserted, in
   * file order, into `UR_ResourceLinks`. Pairs with an end not found (looked for only when
   * fewer links than pairs were inserted) are handed to `onOrphan` in file order. Runs in the
   * caller's transaction. Returns the links loaded.
   *
   * A mono-valued association is loaded instead into its column of `UR_Resources` or, when
   * the ends are looked up in the scratch table, into `MONO_SCRATCH`, for the resources about
   * to be written (`ResourceRepository.insertMany`): each holder takes the first of its pairs
   * in file order; the pairs left out are returned as `conflicts`.
   */
  async loadInitial(
    batchId: string,
    connector: string,
    scope: LinkScope,
    pairs: AsyncIterable<(readonly [number, string, string])[]>,
    /** Where the ends are looked up: UR_Resources, or an initial load's scratch table. */
    resources: string,
    onOrphan: (orphan: Orphan) => Promise<void>,
  ): Promise<{ inserted: number; conflicts: MonoConflict[] }> {
    // On SQLite the line is the rowid: the pairs are then read in file order without a sort.
    const line = this.db.dialect === "sqlite" ? "INTEGER PRIMARY KEY" : "INTEGER NOT NULL";
    await this.db.exec(
      `CREATE TEMP TABLE IF NOT EXISTS syncup_link_keys (line ${line}, key1 TEXT NOT NULL, key2 TEXT NOT NULL)`,
    );
    await emptyTables(this.db, ["syncup_link_keys"]);
    const total = await this.db.copyRows("syncup_link_keys", ["line", "key1", "key2"], pairs);
    await this.db.analyze(["syncup_link_keys"]);
    // A primary key is unique: a join. A unique key may be held by several resources: the lowest pk.
    const ends = ([1, 2] as const).map((n) => {
      const type = n === 1 ? scope.end1Type : scope.end2Type;
      const column = n === 1 ? scope.key1Column : scope.key2Column;
      return column === "pk"
        ? {
            value: `e${n}.id`,
            join: `LEFT JOIN ${resources} e${n} ON e${n}.connector = ? AND e${n}.entity_type = ? AND e${n}.pk = k.key${n}`,
            params: [connector, type],
          }
        : { value: heldBy(resources, column, `k.key${n}`), join: "", params: [connector, type] };
    });
    const resolved = {
      sql: `SELECT k.line AS line, k.key1 AS key1, k.key2 AS key2, ${ends.map((e, i) => `${e.value} AS r${i + 1}`).join(", ")}
            FROM syncup_link_keys k ${ends.map((e) => e.join).join(" ")}`,
      // In the order of their placeholders: the select list's subqueries, then the joins.
      params: [
        ...ends.filter((e) => e.join === "").flatMap((e) => e.params),
        ...ends.filter((e) => e.join !== "").flatMap((e) => e.params),
      ],
    };
    let inserted: number;
    let conflicts: MonoConflict[] = [];
    if (scope.mono === null) {
      inserted = await this.db.run(
        `INSERT INTO UR_ResourceLinks (connector, association, key1, key2, resource1, resource2, batch_seq)
         SELECT ?, ?, key1, key2, r1, r2, ${BATCH_SEQ} FROM (${resolved.sql}) x
         WHERE r1 IS NOT NULL AND r2 IS NOT NULL ORDER BY line`,
        [connector, scope.association, batchId, ...resolved.params],
      );
      if (inserted < total) await this.orphansOf(resolved, onOrphan);
    } else {
      // Mono-valued: each holder takes the first of its pairs in file order.
      const [holder, target] = scope.mono.end === 1 ? ["r1", "r2"] : ["r2", "r1"];
      const ranked = `SELECT line, key1, key2, ${holder} AS holder, ${target} AS target,
                        ROW_NUMBER() OVER (PARTITION BY ${holder} ORDER BY line) AS n
                      FROM (${resolved.sql}) p WHERE r1 IS NOT NULL AND r2 IS NOT NULL`;
      const first = `SELECT holder, target FROM (${ranked}) x WHERE n = 1`;
      inserted =
        resources === RESOURCE_SCRATCH
          ? await this.db.run(
              `INSERT INTO ${MONO_SCRATCH} (holder, col, target) SELECT holder, ?, target FROM (${first}) s`,
              [scope.mono.column, ...resolved.params],
            )
          : await this.db.run(
              // The holders are the connector's by construction (resolved among its resources):
              // a connector filter here leads SQLite to scan the connector's rows.
              `UPDATE UR_Resources SET i${scope.mono.column} = s.target FROM (${first}) s
               WHERE UR_Resources.id = s.holder`,
              resolved.params,
            );
      // Fewer than the pairs: some have an end not found (orphans), or a holder several pairs
      // (conflicts, beyond the first). Both are looked for only then.
      if (inserted < total) {
        await this.orphansOf(resolved, onOrphan);
        const paired = await this.db.get<{ n: number }>(
          `SELECT COUNT(*) AS n FROM (${resolved.sql}) p WHERE r1 IS NOT NULL AND r2 IS NOT NULL`,
          resolved.params,
        );
        if (Number(paired?.n ?? 0) > inserted) {
          conflicts = await this.db.all<MonoConflict>(
            `SELECT NULL AS id, line, key1, key2, NULL AS resource1, NULL AS resource2, winner1, winner2
             FROM (SELECT line, key1, key2, n, FIRST_VALUE(key1) OVER w AS winner1, FIRST_VALUE(key2) OVER w AS winner2
                   FROM (${ranked}) r WINDOW w AS (PARTITION BY holder ORDER BY line)) x
             WHERE n > 1 ORDER BY line`,
            resolved.params,
          );
        }
      }
    }
    await emptyTables(this.db, ["syncup_link_keys"]);
    return { inserted, conflicts };
  }

  /** The pairs of `resolved` with an end not found, to `onOrphan` in file order. */
  private async orphansOf(
    resolved: { sql: string; params: readonly SqlValue[] },
    onOrphan: (orphan: Orphan) => Promise<void>,
  ): Promise<void> {
    for (let after = 0; ;) {
      const page = await this.db.all<{ line: number; key1: string; key2: string; m1: number; m2: number }>(
        `SELECT line, key1, key2, CASE WHEN r1 IS NULL THEN 1 ELSE 0 END AS m1, CASE WHEN r2 IS NULL THEN 1 ELSE 0 END AS m2
         FROM (${resolved.sql}) x WHERE (r1 IS NULL OR r2 IS NULL) AND line > ? ORDER BY line LIMIT 10000`,
        [...resolved.params, after],
      );
      for (const o of page) {
        await onOrphan({
          line: Number(o.line),
          key1: o.key1,
          key2: o.key2,
          missing: Number(o.m1) === 1 && Number(o.m2) === 1 ? "both" : Number(o.m1) === 1 ? "end1" : "end2",
        });
      }
      if (page.length < 10000) return;
      after = Number(page[page.length - 1]!.line);
    }
  }

  /**
   * The links a staged batch would leave shadowed in a mono-valued association: for each
   * holder with a staged insert, its pairs after the batch (staged inserts, and the stored
   * pair unless staged for removal) ranked in file order — by the other end's key, since the
   * holder's key is the same; all but the first are returned.
   */
  monoConflicts(batchId: string, connector: string, scope: MonoScope): Promise<MonoConflict[]> {
    const e = scope.mono.end;
    const [r1, r2] = e === 1 ? ["h", "t"] : ["t", "h"];
    const other = e === 1 ? "key2" : "key1";
    const insertedHolders = `SELECT resource${e}_pk FROM UR_ResourceLinkChanges
                             WHERE batch_id = ? AND association = ? AND operation = 'insert'`;
    const removedHolders = `SELECT resource${e}_id FROM UR_ResourceLinkChanges
                            WHERE batch_id = ? AND association = ? AND operation = 'delete' AND resource${e}_id IS NOT NULL`;
    const pairs = `
      SELECT c.id AS id, c.line AS line, c.key1 AS key1, c.key2 AS key2, NULL AS resource1, NULL AS resource2,
             c.resource${e}_pk AS holder
      FROM UR_ResourceLinkChanges c WHERE c.batch_id = ? AND c.association = ? AND c.operation = 'insert'
      UNION ALL
      SELECT NULL, NULL, COALESCE(${r1}.${scope.key1Column}, ''), COALESCE(${r2}.${scope.key2Column}, ''), ${r1}.id, ${r2}.id, h.pk
      FROM UR_Resources h JOIN UR_Resources t ON t.id = h.i${scope.mono.column}
      WHERE h.connector = ? AND h.entity_type = ? AND h.pk IN (${insertedHolders}) AND h.id NOT IN (${removedHolders})`;
    return this.db.all<MonoConflict>(
      `SELECT id, line, key1, key2, resource1, resource2, winner1, winner2 FROM (
         SELECT p.*, ROW_NUMBER() OVER w AS n, FIRST_VALUE(key1) OVER w AS winner1, FIRST_VALUE(key2) OVER w AS winner2
         FROM (${pairs}) p WINDOW w AS (PARTITION BY holder ORDER BY ${other})) x
       WHERE n > 1 ORDER BY line`,
      [
        batchId,
        scope.association,
        connector,
        e === 1 ? scope.end1Type : scope.end2Type,
        batchId,
        scope.association,
        batchId,
        scope.association,
      ],
    );
  }

  /** The multi-valued links of one resource, either end (the first `limit` of them). */
  linksOf(resourceId: number, limit?: number): Promise<LinkRow[]> {
    return this.db.all<LinkRow>(
      `SELECT association, key1, key2, resource1, resource2 FROM UR_ResourceLinks WHERE resource1 = ?
       UNION
       SELECT association, key1, key2, resource1, resource2 FROM UR_ResourceLinks WHERE resource2 = ?
       ORDER BY association, key1, key2${limit === undefined ? "" : " LIMIT ?"}`,
      limit === undefined ? [resourceId, resourceId] : [resourceId, resourceId, limit],
    );
  }

  private pairsQuery(
    batchId: string,
    connector: string,
    scope: LinkScope,
    filter?: "key1" | "key2" | "pairs",
    count = 0,
  ): { sql: string; params: SqlValue[] } {
    const relinked =
      "(SELECT c.resource_id FROM UR_ResourcesChanges c WHERE c.batch_id = ? AND c.relinks = 1)";
    if (scope.mono === null) {
      const sql = `SELECT l.key1 AS key1, l.key2 AS key2, l.resource1 AS resource1, l.resource2 AS resource2,
               CASE WHEN l.resource1 IN ${relinked} OR l.resource2 IN ${relinked} THEN 1 ELSE 0 END AS stale
        FROM UR_ResourceLinks l WHERE l.connector = ? AND l.association = ?${
          filter === undefined
            ? ""
            : filter === "pairs"
              ? ` AND (l.key1, l.key2) IN (VALUES ${Array.from({ length: count }, () => "(?, ?)").join(", ")})`
              : ` AND l.${filter} IN (${placeholders(count)})`
        }`;
      return { sql, params: [batchId, batchId, connector, scope.association] };
    }
    // h holds the column, t is the resource it points to; r1/r2 are the association's ends.
    const [r1, r2] = scope.mono.end === 1 ? ["h", "t"] : ["t", "h"];
    const holderKey = scope.mono.end === 1 ? `${r1}.${scope.key1Column}` : `${r2}.${scope.key2Column}`;
    // A primary key is never null: left bare, so that ordering by it can follow its index.
    const key = (alias: string, column: KeyColumn) =>
      column === "pk" ? `${alias}.pk` : `COALESCE(${alias}.${column}, '')`;
    const sql = `SELECT ${key(r1, scope.key1Column)} AS key1, ${key(r2, scope.key2Column)} AS key2,
             ${r1}.id AS resource1, ${r2}.id AS resource2,
             CASE WHEN h.id IN ${relinked} OR t.id IN ${relinked} THEN 1 ELSE 0 END AS stale
      FROM UR_Resources h JOIN UR_Resources t ON t.id = h.i${scope.mono.column}
      WHERE h.connector = ? AND h.entity_type = ?${filter === undefined ? "" : ` AND ${holderKey} IN (${placeholders(count)})`}`;
    return {
      sql,
      params: [batchId, batchId, connector, scope.mono.end === 1 ? scope.end1Type : scope.end2Type],
    };
  }
}
