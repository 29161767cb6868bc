import { BATCH_SEQ } from "./batch-seq.js";
import type { ScopeCountRepository } from "./counts.js";
import type { Driver } from "./driver.js";
import type { JournalRepository } from "./journal.js";
import type { PendingLinkRepository } from "./pending.js";
import { MONO_COLUMNS } from "./types.js";

/** The staged changes an apply takes: every one a decision did not reject. */
export function taken(alias = ""): string {
  const column = alias === "" ? "decision" : `${alias}.decision`;
  return `(${column} IS NULL OR ${column} <> 'rejected')`;
}

/** The steps of an apply, in order; a test hook can fail between them. */
export type ApplyStep = "resources" | "links" | "deletes";

/**
 * Applies exactly what `batchId` staged, in the caller's transaction: inserted and updated
 * resources; then links (removed pairs first, so that a mono-valued column can take its new
 * value) and the pairs set aside as pending; then deleted resources, which take along their links and the mono-valued
 * references pointing to them. Ends that the batch itself inserted are found by primary key.
 * Changes a partial decision rejected are left out (`taken`); what the deletes take along is
 * journaled first (`JournalRepository.journalCascade`), so that an undo can bring it back.
 */
export class ApplyRepository {
  constructor(
    private readonly db: Driver,
    private readonly counts: ScopeCountRepository,
    private readonly pending: PendingLinkRepository,
    private readonly journal: JournalRepository,
  ) {}

  /** Applies the batch and adjusts the connector's held counts (`UR_ScopeCounts`) to match. */
  async apply(
    batchId: string,
    connector: string,
    beforeStep?: (step: ApplyStep) => Promise<void> | void,
  ): Promise<void> {
    const settleCounts = await this.counts.track(batchId, connector);
    await beforeStep?.("resources");
    await this.resources(batchId, connector);
    await beforeStep?.("links");
    await this.links(batchId, connector);
    await this.pending.apply(batchId, connector);
    await beforeStep?.("deletes");
    const monoHeld = await this.heldMonoColumns();
    await this.journal.journalCascade(batchId, monoHeld);
    await this.deletes(batchId, monoHeld);
    await settleCounts();
  }

  private async resources(batchId: string, connector: string): Promise<void> {
    await this.db.run(
      `INSERT INTO UR_Resources (connector, entity_type, pk, uk1, uk2, uk3, hash, properties, source_hash, batch_seq, created_batch_seq)
       SELECT ?, entity_type, pk, uk1, uk2, uk3, hash, properties, source_hash, s.seq, s.seq
       FROM UR_ResourcesChanges CROSS JOIN (SELECT ${BATCH_SEQ} AS seq) s
       WHERE batch_id = ? AND operation = 'insert' AND ${taken()} ORDER BY id`,
      [connector, batchId, batchId],
    );
    // Updates whose unique keys stay set only the other columns: SQLite rewrites the entries of
    // every index whose column an UPDATE sets, even to the same value (5,000 updates at 1M
    // resources: 9,262 pages written with the keys set, 4,920 without).
    const sameKeys = [1, 2, 3].map((n) => `c.uk${n} IS NOT DISTINCT FROM UR_Resources.uk${n}`).join(" AND ");
    for (const [keys, set] of [
      [sameKeys, ""],
      [`NOT (${sameKeys})`, "uk1 = c.uk1, uk2 = c.uk2, uk3 = c.uk3, "],
    ] as const) {
      await this.db.run(
        `UPDATE UR_Resources SET ${set}hash = c.hash, properties = c.properties, source_hash = c.source_hash,
                batch_seq = ${BATCH_SEQ}
         FROM UR_ResourcesChanges c
         WHERE c.batch_id = ? AND c.operation = 'update' AND ${taken("c")} AND UR_Resources.id = c.resource_id
               AND ${keys}`,
        [batchId, batchId],
      );
    }
  }

  private async links(batchId: string, connector: string): Promise<void> {
    const monoKinds = await this.db.all<{ operation: string; mono_column: number; mono_end: number }>(
      `SELECT DISTINCT operation, mono_column, mono_end FROM UR_ResourceLinkChanges
       WHERE batch_id = ? AND mono_column IS NOT NULL AND ${taken()}`,
      [batchId],
    );
    for (const kind of monoKinds.filter((k) => k.operation === "delete")) {
      const column = monoColumn(kind.mono_column);
      const holder = kind.mono_end === 2 ? "resource2_id" : "resource1_id";
      await this.db.run(
        `UPDATE UR_Resources SET ${column} = NULL, batch_seq = ${BATCH_SEQ}
         WHERE id IN (SELECT ${holder} FROM UR_ResourceLinkChanges
                      WHERE batch_id = ? AND operation = 'delete' AND mono_column = ? AND mono_end = ?
                        AND ${taken()})`,
        [batchId, batchId, kind.mono_column, kind.mono_end],
      );
    }
    await this.db.run(
      `DELETE FROM UR_ResourceLinks WHERE connector = ? AND (association, key1, key2) IN (
         SELECT association, key1, key2 FROM UR_ResourceLinkChanges
         WHERE batch_id = ? AND operation = 'delete' AND mono_column IS NULL AND ${taken()})`,
      [connector, batchId],
    );
    await this.db.run(
      `INSERT INTO UR_ResourceLinks (connector, association, key1, key2, resource1, resource2, batch_seq)
       SELECT ?, c.association, c.key1, c.key2, COALESCE(c.resource1_id, r1.id), COALESCE(c.resource2_id, r2.id), s.seq
       FROM UR_ResourceLinkChanges c CROSS JOIN (SELECT ${BATCH_SEQ} AS seq) s
       LEFT JOIN UR_Resources r1 ON c.resource1_id IS NULL AND r1.connector = ? AND r1.entity_type = c.end1_type AND r1.pk = c.resource1_pk
       LEFT JOIN UR_Resources r2 ON c.resource2_id IS NULL AND r2.connector = ? AND r2.entity_type = c.end2_type AND r2.pk = c.resource2_pk
       WHERE c.batch_id = ? AND c.operation = 'insert' AND c.mono_column IS NULL AND ${taken("c")}`,
      [connector, batchId, connector, connector, batchId],
    );
    for (const kind of monoKinds.filter((k) => k.operation === "insert")) {
      const [h, t] = kind.mono_end === 2 ? [2, 1] : [1, 2];
      await this.db.run(
        `UPDATE UR_Resources SET ${monoColumn(kind.mono_column)} = s.target, batch_seq = ${BATCH_SEQ}
         FROM (SELECT h.id AS holder, COALESCE(c.resource${t}_id, t.id) AS target
               FROM UR_ResourceLinkChanges c
               JOIN UR_Resources h ON h.connector = ? AND h.entity_type = c.end${h}_type AND h.pk = c.resource${h}_pk
               LEFT JOIN UR_Resources t ON c.resource${t}_id IS NULL AND t.connector = ? AND t.entity_type = c.end${t}_type
                                          AND t.pk = c.resource${t}_pk
               WHERE c.batch_id = ? AND c.operation = 'insert' AND c.mono_column = ? AND c.mono_end = ?
                 AND ${taken("c")}) s
         WHERE UR_Resources.id = s.holder`,
        [batchId, connector, connector, batchId, kind.mono_column, kind.mono_end],
      );
    }
  }

  /**
   * The mono-valued columns that hold a value in some row, each looked for through its partial
   * index: the deletes and their journal leave the others alone (on SQLite, 18 statements of
   * about 10 ms each at 1M resources, for columns no mapping uses).
   */
  private async heldMonoColumns(): Promise<number[]> {
    const row = await this.db.get<Record<string, unknown>>(
      `SELECT ${MONO_COLUMNS.map((n) => `(SELECT 1 FROM UR_Resources WHERE i${n} IS NOT NULL LIMIT 1) AS i${n}`).join(", ")}`,
    );
    return MONO_COLUMNS.filter((n) => row?.[`i${n}`] !== null && row?.[`i${n}`] !== undefined);
  }

  private async deletes(batchId: string, monoHeld: readonly number[]): Promise<void> {
    const deleted = DELETED_RESOURCES;
    const any = await this.db.get(`${deleted} LIMIT 1`, [batchId]);
    if (any === undefined) return;
    await this.db.run(`DELETE FROM UR_ResourceLinks WHERE resource1 IN (${deleted})`, [batchId]);
    await this.db.run(`DELETE FROM UR_ResourceLinks WHERE resource2 IN (${deleted})`, [batchId]);
    for (const n of monoHeld) {
      await this.db.run(
        `UPDATE UR_Resources SET i${n} = NULL, batch_seq = ${BATCH_SEQ} WHERE i${n} IN (${deleted})`,
        [batchId, batchId],
      );
    }
    await this.db.run(`DELETE FROM UR_Resources WHERE id IN (${deleted})`, [batchId]);
  }
}

/** The ids of the resources an apply of a batch (the parameter) deletes. */
export const DELETED_RESOURCES = `SELECT resource_id FROM UR_ResourcesChanges WHERE batch_id = ? AND operation = 'delete' AND ${taken()}`;

export function monoColumn(index: number): string {
  if (!Number.isInteger(index) || index < 128 || index > 137)
    throw new Error(`not a mono-valued column index: ${index}`);
  return `i${index}`;
}
