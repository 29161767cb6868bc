import { taken } from "./apply.js";
import { placeholders, type Driver, type SqlValue } from "./driver.js";
import type { StagedCount, StagedLink, StagedResource } from "./types.js";

const RESOURCE_COLUMNS = [
  "batch_id",
  "operation",
  "entity_type",
  "pk",
  "uk1",
  "uk2",
  "uk3",
  "hash",
  "properties",
  "source_hash",
  "resource_id",
  "relinks",
  "line",
  "before_uk1",
  "before_uk2",
  "before_uk3",
  "before_hash",
  "before_properties",
  "before_source_hash",
];

const LINK_COLUMNS = [
  "batch_id",
  "operation",
  "association",
  "key1",
  "key2",
  "end1_type",
  "end2_type",
  "resource1_pk",
  "resource2_pk",
  "resource1_id",
  "resource2_id",
  "mono_column",
  "mono_end",
  "line",
];

/** `UR_ResourcesChanges` and `UR_ResourceLinkChanges`: what a batch staged, and later its journal. */
export class ChangeRepository {
  constructor(private readonly db: Driver) {}

  /** Bulk insert of staged resource changes (COPY on PostgreSQL). */
  async stageResources(batchId: string, changes: readonly StagedResource[]): Promise<void> {
    if (changes.length === 0) return;
    await this.db.copyRows(
      "UR_ResourcesChanges",
      RESOURCE_COLUMNS,
      changes.map((c): SqlValue[] => [
        batchId,
        c.operation,
        c.entityType,
        c.pk,
        c.uks[0],
        c.uks[1],
        c.uks[2],
        c.hash,
        c.properties,
        c.sourceHash,
        c.resourceId,
        c.relinks ? 1 : 0,
        c.line,
        c.before?.uks[0] ?? null,
        c.before?.uks[1] ?? null,
        c.before?.uks[2] ?? null,
        c.before?.hash ?? null,
        c.before?.properties ?? null,
        c.before?.sourceHash ?? null,
      ]),
    );
  }

  /** Bulk insert of staged link changes (COPY on PostgreSQL). */
  async stageLinks(batchId: string, changes: readonly StagedLink[]): Promise<void> {
    if (changes.length === 0) return;
    await this.db.copyRows(
      "UR_ResourceLinkChanges",
      LINK_COLUMNS,
      changes.map((c): SqlValue[] => [
        batchId,
        c.operation,
        c.scope.association,
        c.key1,
        c.key2,
        c.scope.end1Type,
        c.scope.end2Type,
        c.resource1Pk,
        c.resource2Pk,
        c.resource1Id,
        c.resource2Id,
        c.scope.mono?.column ?? null,
        c.scope.mono?.end ?? null,
        c.line,
      ]),
    );
  }

  async removeLinkChanges(ids: readonly number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await this.db.run(
        `DELETE FROM UR_ResourceLinkChanges WHERE id IN (${placeholders(chunk.length)})`,
        chunk,
      );
    }
  }

  /** Staged changes per entity type / association and operation (those a decision takes, with `taken`). */
  async counts(
    batchId: string,
    options: { taken?: boolean } = {},
  ): Promise<{ resources: StagedCount[]; links: StagedCount[] }> {
    const decided = options.taken === true ? ` AND ${taken()}` : "";
    const resources = await this.db.all<StagedCount>(
      `SELECT entity_type AS scope, operation, COUNT(*) AS n FROM UR_ResourcesChanges
       WHERE batch_id = ?${decided} GROUP BY entity_type, operation`,
      [batchId],
    );
    // What an apply took along (`cascaded`) is journaled, not staged: it is not counted.
    const links = await this.db.all<StagedCount>(
      `SELECT association AS scope, operation, COUNT(*) AS n FROM UR_ResourceLinkChanges
       WHERE batch_id = ? AND cascaded = 0${decided} GROUP BY association, operation`,
      [batchId],
    );
    return { resources, links };
  }

  /** Deletes what a batch staged (cancelled, superseded, failed, previewed). */
  async discard(batchId: string): Promise<void> {
    await this.db.run("DELETE FROM UR_ResourcesChanges WHERE batch_id = ?", [batchId]);
    await this.db.run("DELETE FROM UR_ResourceLinkChanges WHERE batch_id = ?", [batchId]);
    await this.db.run("DELETE FROM UR_PendingLinkChanges WHERE batch_id = ?", [batchId]);
  }
}
