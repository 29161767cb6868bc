import { taken } from "./apply.js";
import { BATCH_SEQ } from "./batch-seq.js";
import type { Driver } from "./driver.js";

/** A resource or link of an undone batch that a later applied batch changed too. */
export interface UndoConflict {
  readonly kind: "resource" | "link";
  /** Entity type or association. */
  readonly scope: string;
  readonly key: string;
  readonly key2: string | null;
  /** The later batch. */
  readonly batchId: string;
}

const RESOURCE_COLUMNS =
  "batch_id, operation, entity_type, pk, uk1, uk2, uk3, hash, properties, source_hash, resource_id, relinks";
const LINK_COLUMNS = `batch_id, operation, association, key1, key2, end1_type, end2_type, resource1_pk, resource2_pk,
                      resource1_id, resource2_id, mono_column, mono_end`;
const SAME_KEYS = [1, 2, 3].map((n) => `r.uk${n} IS NOT DISTINCT FROM b.before_uk${n}`).join(" AND ");

/**
 * Stages the inverse of an applied batch as a batch of its own: every resource and link the
 * batch changed is brought back to its before-image, compared with what the repository holds
 * now (so that an undo forced past later batches stages only what differs). Set-based SQL,
 * in proportion to the undone batch.
 */
export class UndoRepository {
  constructor(private readonly db: Driver) {}

  /** Resources and links of `batch` that batches applied after it (seq above) changed too: at most `limit`. */
  async conflicts(
    batch: { id: string; seq: number; connector: string },
    limit: number,
  ): Promise<UndoConflict[]> {
    const resources = await this.db.all<{ scope: string; key: string; batchId: string }>(
      `SELECT b.entity_type AS scope, b.pk AS "key", x.batch_id AS "batchId"
       FROM UR_ResourcesChanges b
       JOIN UR_ResourcesChanges x ON x.pk = b.pk AND x.entity_type = b.entity_type AND ${taken("x")}
       JOIN UR_Batches later ON later.id = x.batch_id AND later.connector = ? AND later.state = 'applied' AND later.seq > ?
       WHERE b.batch_id = ? AND ${taken("b")}
       ORDER BY b.id LIMIT ?`,
      [batch.connector, batch.seq, batch.id, limit],
    );
    const links = await this.db.all<{ scope: string; key: string; key2: string; batchId: string }>(
      `SELECT b.association AS scope, b.key1 AS "key", b.key2 AS key2, x.batch_id AS "batchId"
       FROM UR_ResourceLinkChanges b
       JOIN UR_ResourceLinkChanges x ON x.association = b.association AND x.key1 = b.key1 AND x.key2 = b.key2
                                     AND ${taken("x")}
       JOIN UR_Batches later ON later.id = x.batch_id AND later.connector = ? AND later.state = 'applied' AND later.seq > ?
       WHERE b.batch_id = ? AND ${taken("b")}
       ORDER BY b.id LIMIT ?`,
      [batch.connector, batch.seq, batch.id, limit],
    );
    return [
      ...resources.map((r) => ({
        kind: "resource" as const,
        scope: r.scope,
        key: r.key,
        key2: null,
        batchId: r.batchId,
      })),
      ...links.map((l) => ({
        kind: "link" as const,
        scope: l.scope,
        key: l.key,
        key2: l.key2,
        batchId: l.batchId,
      })),
    ].slice(0, limit);
  }

  /** Updates and deletes of `batchId` it took without a before-image (applied before they were kept). */
  async withoutBeforeImage(batchId: string): Promise<number> {
    const row = await this.db.get<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM UR_ResourcesChanges
       WHERE batch_id = ? AND operation <> 'insert' AND before_hash IS NULL AND ${taken()}`,
      [batchId],
    );
    return Number(row?.n ?? 0);
  }

  /** Stages, as `undoId`, what brings back every resource and link `batchId` changed. */
  async stage(batchId: string, undoId: string, connector: string): Promise<void> {
    const current = "r.connector = ? AND r.entity_type = b.entity_type AND r.pk = b.pk";
    // What the batch inserted goes.
    await this.db.run(
      `INSERT INTO UR_ResourcesChanges (${RESOURCE_COLUMNS})
       SELECT ?, 'delete', r.entity_type, r.pk, r.uk1, r.uk2, r.uk3, NULL, NULL, NULL, r.id, 1
       FROM UR_ResourcesChanges b JOIN UR_Resources r ON ${current}
       WHERE b.batch_id = ? AND b.operation = 'insert' AND ${taken("b")} ORDER BY b.id`,
      [undoId, connector, batchId],
    );
    // What it updated or deleted takes its before-image again: updated where it is held…
    await this.db.run(
      `INSERT INTO UR_ResourcesChanges (${RESOURCE_COLUMNS})
       SELECT ?, 'update', b.entity_type, b.pk, b.before_uk1, b.before_uk2, b.before_uk3, b.before_hash,
              b.before_properties, b.before_source_hash, r.id, CASE WHEN ${SAME_KEYS} THEN 0 ELSE 1 END
       FROM UR_ResourcesChanges b JOIN UR_Resources r ON ${current}
       WHERE b.batch_id = ? AND b.operation <> 'insert' AND ${taken("b")}
         AND (r.hash <> b.before_hash OR NOT (${SAME_KEYS}))
       ORDER BY b.id`,
      [undoId, connector, batchId],
    );
    // …inserted where it is not.
    await this.db.run(
      `INSERT INTO UR_ResourcesChanges (${RESOURCE_COLUMNS})
       SELECT ?, 'insert', b.entity_type, b.pk, b.before_uk1, b.before_uk2, b.before_uk3, b.before_hash,
              b.before_properties, b.before_source_hash, NULL, 0
       FROM UR_ResourcesChanges b LEFT JOIN UR_Resources r ON ${current}
       WHERE b.batch_id = ? AND b.operation <> 'insert' AND ${taken("b")} AND r.id IS NULL
       ORDER BY b.id`,
      [undoId, connector, batchId],
    );
    await this.stageLinks(batchId, undoId, connector);
  }

  /** Stages, as `undoId`, the removal of every resource an initial load `batchId` created. */
  async stageInitial(batchId: string, undoId: string, connector: string): Promise<void> {
    await this.db.run(
      `INSERT INTO UR_ResourcesChanges (${RESOURCE_COLUMNS})
       SELECT ?, 'delete', r.entity_type, r.pk, r.uk1, r.uk2, r.uk3, NULL, NULL, NULL, r.id, 1
       FROM UR_Resources r WHERE r.connector = ? AND r.created_batch_seq = ${BATCH_SEQ} ORDER BY r.id`,
      [undoId, connector, batchId],
    );
  }

  private async stageLinks(batchId: string, undoId: string, connector: string): Promise<void> {
    const held = "l.connector = ? AND l.association = b.association AND l.key1 = b.key1 AND l.key2 = b.key2";
    await this.db.run(
      `INSERT INTO UR_ResourceLinkChanges (${LINK_COLUMNS})
       SELECT ?, 'delete', b.association, b.key1, b.key2, b.end1_type, b.end2_type, NULL, NULL,
              l.resource1, l.resource2, NULL, NULL
       FROM UR_ResourceLinkChanges b JOIN UR_ResourceLinks l ON ${held}
       WHERE b.batch_id = ? AND b.operation = 'insert' AND b.mono_column IS NULL AND ${taken("b")}
       ORDER BY b.id`,
      [undoId, connector, batchId],
    );
    await this.db.run(
      `INSERT INTO UR_ResourceLinkChanges (${LINK_COLUMNS})
       SELECT ?, 'insert', b.association, b.key1, b.key2, b.end1_type, b.end2_type, b.resource1_pk, b.resource2_pk,
              NULL, NULL, NULL, NULL
       FROM UR_ResourceLinkChanges b LEFT JOIN UR_ResourceLinks l ON ${held}
       WHERE b.batch_id = ? AND b.operation = 'delete' AND b.mono_column IS NULL AND ${taken("b")}
         AND l.key1 IS NULL
       ORDER BY b.id`,
      [undoId, connector, batchId],
    );
    // Mono-valued references: each one removed comes back, each one set is cleared.
    await this.db.run(
      `INSERT INTO UR_ResourceLinkChanges (${LINK_COLUMNS})
       SELECT ?, 'insert', b.association, b.key1, b.key2, b.end1_type, b.end2_type, b.resource1_pk, b.resource2_pk,
              NULL, NULL, b.mono_column, b.mono_end
       FROM UR_ResourceLinkChanges b
       WHERE b.batch_id = ? AND b.operation = 'delete' AND b.mono_column IS NOT NULL AND ${taken("b")}
       ORDER BY b.id`,
      [undoId, batchId],
    );
    for (const end of [1, 2]) {
      await this.db.run(
        `INSERT INTO UR_ResourceLinkChanges (${LINK_COLUMNS})
         SELECT ?, 'delete', b.association, b.key1, b.key2, b.end1_type, b.end2_type, b.resource1_pk, b.resource2_pk,
                ${end === 1 ? "h.id, NULL" : "NULL, h.id"}, b.mono_column, b.mono_end
         FROM UR_ResourceLinkChanges b
         JOIN UR_Resources h ON h.connector = ? AND h.entity_type = b.end${end}_type AND h.pk = b.resource${end}_pk
         WHERE b.batch_id = ? AND b.operation = 'insert' AND b.mono_column IS NOT NULL AND b.mono_end = ${end}
           AND ${taken("b")}
         ORDER BY b.id`,
        [undoId, connector, batchId],
      );
    }
  }

  /**
   * Drops the staged link inserts of `undoId` whose end neither the repository holds nor the
   * undo inserts (an undo forced past a later batch that deleted it); returns how many.
   */
  async dropUnresolvable(undoId: string, connector: string): Promise<number> {
    const missing = (end: 1 | 2) =>
      `(NOT EXISTS (SELECT 1 FROM UR_Resources r WHERE r.connector = ? AND r.entity_type = c.end${end}_type
                                                 AND r.pk = c.resource${end}_pk)
        AND NOT EXISTS (SELECT 1 FROM UR_ResourcesChanges i WHERE i.batch_id = c.batch_id AND i.operation = 'insert'
                                                      AND i.entity_type = c.end${end}_type AND i.pk = c.resource${end}_pk))`;
    return this.db.run(
      `DELETE FROM UR_ResourceLinkChanges WHERE id IN (
         SELECT c.id FROM UR_ResourceLinkChanges c
         WHERE c.batch_id = ? AND c.operation = 'insert' AND (${missing(1)} OR ${missing(2)}))`,
      [undoId, connector, connector],
    );
  }
}
