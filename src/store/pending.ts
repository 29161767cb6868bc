import { placeholders, type Driver } from "./driver.js";

/** Why a pair of an association file is not a link: an end not found, or a mono-valued conflict. */
export type PendingReason = "end1" | "end2" | "both" | "conflict";

/** A pair of an association file that the repository cannot hold as a link yet. */
export interface PendingLink {
  readonly key1: string;
  readonly key2: string;
  readonly missing: PendingReason;
  /** The batch that first set it aside. */
  readonly batchId: string;
}

/** A pending pair with its association, as listed for a connector. */
export interface PendingLinkRow extends PendingLink {
  readonly association: string;
}

/** What a staged batch does to the pending pairs: `reset` empties an association's (a complete). */
export interface StagedPending {
  readonly operation: "add" | "remove" | "reset";
  readonly association: string;
  readonly key1: string;
  readonly key2: string;
  readonly missing: PendingReason | "";
  readonly line: number | null;
}

/** Pending pairs read per page. */
const PAGE = 1000;

/**
 * `UR_PendingLinks`: the pairs of the export that are not links yet (see migration 005), and
 * `UR_PendingLinkChanges`, what a staged batch does to them. Together with the links they
 * hold every pair of the last applied export of a connector.
 */
export class PendingLinkRepository {
  constructor(private readonly db: Driver) {}

  /** Stages changes of the pending pairs for `batchId` (applied with the batch by `apply`). */
  async stage(batchId: string, rows: readonly StagedPending[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.copyRows(
      "UR_PendingLinkChanges",
      ["batch_id", "operation", "association", "key1", "key2", "missing", "line"],
      rows.map((r) => [batchId, r.operation, r.association, r.key1, r.key2, r.missing, r.line]),
    );
  }

  /** Writes pending pairs directly (an initial load, in its transaction). */
  async insert(connector: string, association: string, batchId: string, rows: readonly PendingLink[]) {
    if (rows.length === 0) return;
    await this.db.copyRows(
      "UR_PendingLinks",
      ["connector", "association", "key1", "key2", "missing", "batch_id"],
      rows.map((r) => [connector, association, r.key1, r.key2, r.missing, batchId]),
    );
  }

  /** The pending pairs among `pairs` (an incremental's delta rows). */
  async find(
    connector: string,
    association: string,
    pairs: readonly (readonly [string, string])[],
  ): Promise<PendingLink[]> {
    if (pairs.length === 0) return [];
    const distinct = [...new Map(pairs.map((p) => [`${p[0]}\u0000${p[1]}`, p])).values()];
    return this.db.all<PendingLink>(
      `SELECT key1, key2, missing, batch_id AS "batchId" FROM UR_PendingLinks
       WHERE connector = ? AND association = ? AND (key1, key2) IN (VALUES ${Array.from(
         { length: distinct.length },
         () => "(?, ?)",
       ).join(", ")})`,
      [connector, association, ...distinct.flat()],
    );
  }

  /**
   * The association's pending pairs in key order, a page at a time (keyset paging: each page
   * is a lookup in the primary key, and the caller may write between pages).
   */
  async *pages(connector: string, association: string): AsyncGenerator<PendingLink[]> {
    let after: readonly [string, string] | undefined;
    for (;;) {
      const page = await this.db.all<PendingLink>(
        `SELECT key1, key2, missing, batch_id AS "batchId" FROM UR_PendingLinks
         WHERE connector = ? AND association = ?${after === undefined ? "" : " AND (key1, key2) > (?, ?)"}
         ORDER BY key1, key2 LIMIT ${PAGE}`,
        after === undefined ? [connector, association] : [connector, association, ...after],
      );
      if (page.length > 0) yield page;
      if (page.length < PAGE) return;
      const last = page[page.length - 1]!;
      after = [last.key1, last.key2];
    }
  }

  /** Every pending pair of a connector (or of some associations), by association and keys. */
  list(connector: string, associations?: readonly string[]): Promise<PendingLinkRow[]> {
    const only =
      associations === undefined ? "" : ` AND association IN (${placeholders(associations.length)})`;
    return this.db.all<PendingLinkRow>(
      `SELECT association, key1, key2, missing, batch_id AS "batchId" FROM UR_PendingLinks
       WHERE connector = ?${only} ORDER BY association, key1, key2`,
      [connector, ...(associations ?? [])],
    );
  }

  /**
   * A page of the connector's pending pairs (the console's orphans), by association and keys,
   * after the pair `after` (keyset paging on the primary key).
   */
  page(query: {
    connector: string;
    association?: string;
    after?: readonly [association: string, key1: string, key2: string];
    limit: number;
  }): Promise<PendingLinkRow[]> {
    const where = ["connector = ?"];
    const params: (string | number)[] = [query.connector];
    if (query.association !== undefined) {
      where.push("association = ?");
      params.push(query.association);
    }
    if (query.after !== undefined) {
      where.push("(association, key1, key2) > (?, ?, ?)");
      params.push(...query.after);
    }
    return this.db.all<PendingLinkRow>(
      `SELECT association, key1, key2, missing, batch_id AS "batchId" FROM UR_PendingLinks
       WHERE ${where.join(" AND ")} ORDER BY association, key1, key2 LIMIT ?`,
      [...params, query.limit],
    );
  }

  /** How many pairs of the connector are pending, by association. */
  async counts(connector: string): Promise<Map<string, number>> {
    const rows = await this.db.all<{ association: string; n: number }>(
      "SELECT association, COUNT(*) AS n FROM UR_PendingLinks WHERE connector = ? GROUP BY association",
      [connector],
    );
    return new Map(rows.map((r) => [r.association, Number(r.n)]));
  }

  /**
   * Applies what `batchId` staged, in the caller's transaction: resets (a complete's
   * associations start over), then removals, then additions.
   */
  async apply(batchId: string, connector: string): Promise<void> {
    await this.db.run(
      `DELETE FROM UR_PendingLinks WHERE connector = ? AND association IN (
         SELECT association FROM UR_PendingLinkChanges WHERE batch_id = ? AND operation = 'reset')`,
      [connector, batchId],
    );
    await this.db.run(
      `DELETE FROM UR_PendingLinks WHERE connector = ? AND (association, key1, key2) IN (
         SELECT association, key1, key2 FROM UR_PendingLinkChanges WHERE batch_id = ? AND operation = 'remove')`,
      [connector, batchId],
    );
    await this.db.run(
      `INSERT INTO UR_PendingLinks (connector, association, key1, key2, missing, batch_id)
       SELECT ?, association, key1, key2, MIN(missing), ? FROM UR_PendingLinkChanges
       WHERE batch_id = ? AND operation = 'add' GROUP BY association, key1, key2
       ON CONFLICT (connector, association, key1, key2) DO UPDATE SET missing = excluded.missing`,
      [connector, batchId, batchId],
    );
    // Internal to the apply, unlike the batch's resource and link changes (its journal).
    await this.discard(batchId);
  }

  /** Drops what a batch staged (cancelled, superseded, failed). */
  async discard(batchId: string): Promise<void> {
    await this.db.run("DELETE FROM UR_PendingLinkChanges WHERE batch_id = ?", [batchId]);
  }

  /** Forgets every pending pair of a connector (its resources are replaced: a forced initial load). */
  async deleteConnector(connector: string): Promise<void> {
    await this.db.run("DELETE FROM UR_PendingLinks WHERE connector = ?", [connector]);
  }
}
