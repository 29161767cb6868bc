/**
 * The change feed's outbox (`UR_ChangeEvents`, migration 7): written by an apply in its own
 * transaction, read in sequence order, pruned by the retention.
 *
 * Numbering: a writer first updates the one row of `UR_ChangeFeed`, which it then holds until
 * its transaction ends; it numbers its events from the row's `last_seq` on and sets the row to
 * its last number. Two applies of different connectors on PostgreSQL therefore write the feed
 * one after the other, and commit in the order of their numbers: the sequence has no gap, and
 * a reader never sees an event before every smaller one is committed. (SQLite has one writer.)
 * Each write is one INSERT … SELECT from the batch's change rows (or, for an initial load, from
 * the rows it loaded), numbered by ROW_NUMBER() in the order the apply ran.
 */
import { BATCH_SEQ } from "./batch-seq.js";
import { taken } from "./apply.js";
import type { Driver, SqlValue } from "./driver.js";
import {
  eventJsonColumns,
  feedRow,
  jsonRow,
  jsonText,
  type FeedJsonRow,
  type FeedJsonText,
  type FeedRow,
  type RawFeedRow,
  type RawJsonRow,
  type RawJsonText,
  EVENT_COLUMNS,
  PART_COLUMNS,
} from "./feed-rows.js";
import { MONO_COLUMNS } from "./types.js";

export type { FeedJsonRow, FeedJsonText, FeedRow } from "./feed-rows.js";

/** What every event of a batch carries. */
export interface FeedBatch {
  readonly batchId: string;
  readonly connector: string;
  readonly mode: string;
  /** The decision's JSON text. */
  readonly decision: string;
  readonly at: string;
}

export interface FeedFilter {
  readonly after: number;
  readonly limit: number;
  readonly connector?: string | undefined;
  /** Resource events of this type, and link and reference events with an end of this type. */
  readonly entityType?: string | undefined;
}

export interface FeedBounds {
  /** The latest event's seq (0 when none was written). */
  readonly last: number;
  /** Events up to this seq were pruned. */
  readonly prunedThrough: number;
}

type PartColumn = (typeof PART_COLUMNS)[number];

/** One part of a write: its rank among the parts, the order within it, its columns and its FROM. */
interface Part {
  readonly ord: string;
  readonly values: Partial<Record<PartColumn, string>>;
  readonly from: string;
  readonly params: readonly SqlValue[];
}

const afterValue = (column: string) => `CASE WHEN c.operation = 'delete' THEN NULL ELSE c.${column} END`;

/** A resource change row (`c`) as an event. */
const RESOURCE_EVENT: Part["values"] = {
  kind: "'resource'",
  operation: "c.operation",
  entity_type: "c.entity_type",
  pk: "c.pk",
  uk1: afterValue("uk1"),
  uk2: afterValue("uk2"),
  uk3: afterValue("uk3"),
  properties: afterValue("properties"),
  before_uk1: "c.before_uk1",
  before_uk2: "c.before_uk2",
  before_uk3: "c.before_uk3",
  before_properties: "c.before_properties",
};

/** A link change row (`l`) as an event. */
const LINK_EVENT: Part["values"] = {
  kind: "CASE WHEN l.mono_column IS NULL THEN 'link' ELSE 'reference' END",
  operation: "l.operation",
  association: "l.association",
  key1: "l.key1",
  key2: "l.key2",
  end1_type: "l.end1_type",
  end2_type: "l.end2_type",
  end1_pk: "l.resource1_pk",
  end2_pk: "l.resource2_pk",
  mono_column: "l.mono_column",
  mono_end: "l.mono_end",
  cascaded: "l.cascaded",
};

/** A link of UR_ResourceLinks (`l`, its ends `r1` and `r2`) as an event. */
const held = (operation: string): Part["values"] => ({
  kind: "'link'",
  operation: `'${operation}'`,
  association: "l.association",
  key1: "l.key1",
  key2: "l.key2",
  end1_type: "r1.entity_type",
  end2_type: "r2.entity_type",
  end1_pk: "r1.pk",
  end2_pk: "r2.pk",
});
const HELD_LINKS = `FROM UR_ResourceLinks l JOIN UR_Resources r1 ON r1.id = l.resource1
                    JOIN UR_Resources r2 ON r2.id = l.resource2`;

/** A column a part leaves out, typed (PostgreSQL types the columns of a UNION from its first rows). */
function defaultOf(column: PartColumn): string {
  if (column === "cascaded") return "0";
  return column === "mono_column" || column === "mono_end" ? "CAST(NULL AS INTEGER)" : "CAST(NULL AS TEXT)";
}

export class FeedRepository {
  constructor(private readonly db: Driver) {}

  /**
   * Writes the events of an applied batch from its change rows, in the caller's transaction,
   * after the apply's statements: resources inserted and updated, link removals, link
   * additions, what the deletes took along, resources deleted — the apply's order. Returns how
   * many it wrote.
   */
  async recordBatch(batch: FeedBatch): Promise<number> {
    const id = [batch.batchId];
    const resources = (operations: string): Part => ({
      ord: "c.id",
      values: RESOURCE_EVENT,
      from: `FROM UR_ResourcesChanges c WHERE c.batch_id = ? AND c.operation IN (${operations}) AND ${taken("c")}`,
      params: id,
    });
    const links = (operation: string, cascaded: number): Part => ({
      ord: "l.id",
      values: LINK_EVENT,
      from: `FROM UR_ResourceLinkChanges l
             WHERE l.batch_id = ? AND l.operation = '${operation}' AND l.cascaded = ${cascaded} AND ${taken("l")}`,
      params: id,
    });
    return this.write(batch, [
      resources("'insert', 'update'"),
      links("delete", 0),
      links("insert", 0),
      links("delete", 1),
      resources("'delete'"),
    ]);
  }

  /**
   * Writes the events of an initial load from the rows it loaded (an initial load stages no
   * changes): its resources, then its links, then the mono-valued references its resources
   * hold (holder first: `mono_end` 1, the association named `@i<column>` as a cascade journals it).
   */
  async recordInitial(batch: FeedBatch): Promise<number> {
    const resources: Part = {
      ord: "r.id",
      values: {
        kind: "'resource'",
        operation: "'insert'",
        entity_type: "r.entity_type",
        pk: "r.pk",
        uk1: "r.uk1",
        uk2: "r.uk2",
        uk3: "r.uk3",
        properties: "r.properties",
      },
      from: `FROM UR_Resources r WHERE r.connector = ? AND r.created_batch_seq = ${BATCH_SEQ}`,
      params: [batch.connector, batch.batchId],
    };
    const links: Part = {
      ord: "l.resource1",
      values: held("insert"),
      from: `${HELD_LINKS} WHERE l.connector = ? AND l.batch_seq = ${BATCH_SEQ}`,
      params: [batch.connector, batch.batchId],
    };
    const references = MONO_COLUMNS.map((n) =>
      this.references(n, "insert", `h.created_batch_seq = ${BATCH_SEQ}`, [batch.connector, batch.batchId]),
    );
    return this.write(batch, [resources, links, ...references]);
  }

  /**
   * Writes the removal of everything a connector holds (a forced initial load replaces it):
   * its references and links, then its resources, each with its values before.
   */
  async recordConnectorRemoval(batch: FeedBatch): Promise<number> {
    const references = MONO_COLUMNS.map((n) => this.references(n, "delete", "1 = 1", [batch.connector]));
    const links: Part = {
      ord: "l.resource1",
      values: held("delete"),
      from: `${HELD_LINKS} WHERE l.connector = ?`,
      params: [batch.connector],
    };
    const resources: Part = {
      ord: "r.id",
      values: {
        kind: "'resource'",
        operation: "'delete'",
        entity_type: "r.entity_type",
        pk: "r.pk",
        before_uk1: "r.uk1",
        before_uk2: "r.uk2",
        before_uk3: "r.uk3",
        before_properties: "r.properties",
      },
      from: "FROM UR_Resources r WHERE r.connector = ?",
      params: [batch.connector],
    };
    return this.write(batch, [...references, links, resources]);
  }

  /** The mono-valued references of column `n` held by the connector's resources matching `where` (on `h`). */
  private references(n: number, operation: string, where: string, params: readonly SqlValue[]): Part {
    return {
      ord: "h.id",
      values: {
        kind: "'reference'",
        operation: `'${operation}'`,
        association: `'@i${n}'`,
        key1: "h.pk",
        key2: "t.pk",
        end1_type: "h.entity_type",
        end2_type: "t.entity_type",
        end1_pk: "h.pk",
        end2_pk: "t.pk",
        mono_column: String(n),
        mono_end: "1",
      },
      from: `FROM UR_Resources h JOIN UR_Resources t ON t.id = h.i${n}
             WHERE h.connector = ? AND ${where} AND h.i${n} IS NOT NULL`,
      params,
    };
  }

  /** Numbers and inserts the events of `parts`, in their order; returns how many. */
  private async write(batch: FeedBatch, parts: readonly Part[]): Promise<number> {
    // The row lock that serializes the feed's writers until this transaction ends.
    await this.db.run("UPDATE UR_ChangeFeed SET last_seq = last_seq WHERE id = 1");
    const row = await this.db.get<{ last_seq: number | string }>(
      "SELECT last_seq FROM UR_ChangeFeed WHERE id = 1",
    );
    const last = Number(row?.last_seq ?? 0);
    const union = parts
      .map(
        (p, i) =>
          `SELECT ${i} AS part, ${p.ord} AS ord, ${PART_COLUMNS.map(
            (c) => `${p.values[c] ?? defaultOf(c)} AS ${c}`,
          ).join(", ")} ${p.from}`,
      )
      .join("\nUNION ALL\n");
    const written = await this.db.run(
      `INSERT INTO UR_ChangeEvents (${EVENT_COLUMNS})
       SELECT ? + ROW_NUMBER() OVER (ORDER BY s.part, s.ord, s.key1, s.key2), ?, ?, ?, ?, ?, ${PART_COLUMNS.map((c) => `s.${c}`).join(", ")}
       FROM (${union}) s`,
      [
        last,
        batch.at,
        batch.batchId,
        batch.connector,
        batch.mode,
        batch.decision,
        ...parts.flatMap((p) => p.params),
      ],
    );
    if (written > 0)
      await this.db.run("UPDATE UR_ChangeFeed SET last_seq = ? WHERE id = 1", [last + written]);
    return written;
  }

  /** Events after `filter.after`, in sequence order, at most `filter.limit`. */
  async page(filter: FeedFilter): Promise<FeedRow[]> {
    const rows = await this.select<RawFeedRow>(EVENT_COLUMNS, filter);
    return rows.map(feedRow);
  }

  /**
   * The same events as JSON text each, built by the database (`eventJsonSql`); `named` is
   * false for a reference journaled by column, whose association the reader names.
   */
  async pageJson(filter: FeedFilter): Promise<FeedJsonRow[]> {
    return (await this.select<RawJsonRow>(eventJsonColumns(this.db.dialect, true), filter)).map(jsonRow);
  }

  /** The same events as JSON text only (the pull API's pages). */
  async pageText(filter: FeedFilter): Promise<FeedJsonText[]> {
    return (await this.select<RawJsonText>(eventJsonColumns(this.db.dialect, false), filter)).map(jsonText);
  }

  /** The events of `seqs` that are still kept, as `pageJson` gives them, in sequence order. */
  async eventsJson(seqs: readonly number[]): Promise<FeedJsonRow[]> {
    if (seqs.length === 0) return [];
    const rows = await this.db.all<RawJsonRow>(
      `SELECT ${eventJsonColumns(this.db.dialect, true)} FROM UR_ChangeEvents
       WHERE seq IN (${seqs.map(() => "?").join(", ")}) ORDER BY seq`,
      seqs,
    );
    return rows.map(jsonRow);
  }

  private select<T extends object>(columns: string, filter: FeedFilter): Promise<T[]> {
    const conditions = ["seq > ?"];
    const params: SqlValue[] = [filter.after];
    if (filter.connector !== undefined) {
      conditions.push("connector = ?");
      params.push(filter.connector);
    }
    if (filter.entityType !== undefined) {
      conditions.push("(entity_type = ? OR end1_type = ? OR end2_type = ?)");
      params.push(filter.entityType, filter.entityType, filter.entityType);
    }
    return this.db.all<T>(
      `SELECT ${columns} FROM UR_ChangeEvents WHERE ${conditions.join(" AND ")} ORDER BY seq LIMIT ?`,
      [...params, filter.limit],
    );
  }

  async bounds(): Promise<FeedBounds> {
    const row = await this.db.get<{ last_seq: number | string; pruned_through: number | string }>(
      "SELECT last_seq, pruned_through FROM UR_ChangeFeed WHERE id = 1",
    );
    return { last: Number(row?.last_seq ?? 0), prunedThrough: Number(row?.pruned_through ?? 0) };
  }

  /**
   * Deletes the events written before `before` (ISO time) or beyond the newest `keepRows`,
   * never past `floor` (the slowest sink's cursor). Returns the new `pruned_through`.
   */
  async prune(options: { before: string | null; keepRows: number | null; floor: number }): Promise<number> {
    const { last, prunedThrough } = await this.bounds();
    let through = prunedThrough;
    if (options.keepRows !== null) through = Math.max(through, last - options.keepRows);
    if (options.before !== null) through = Math.max(through, await this.lastBefore(options.before, last));
    through = Math.min(through, options.floor, last);
    if (through <= prunedThrough) return prunedThrough;
    await this.db.transaction(async () => {
      await this.db.run("DELETE FROM UR_ChangeEvents WHERE seq <= ?", [through]);
      await this.db.run("UPDATE UR_ChangeFeed SET pruned_through = ? WHERE id = 1 AND pruned_through < ?", [
        through,
        through,
      ]);
    });
    return through;
  }

  /**
   * The highest seq written before `before`: a binary search on the primary key (events are
   * written in time order), rather than an index on `at` that every apply would maintain.
   */
  private async lastBefore(before: string, last: number): Promise<number> {
    const atOf = async (seq: number) =>
      (
        await this.db.get<{ seq: number | string; at: string }>(
          "SELECT seq, at FROM UR_ChangeEvents WHERE seq >= ? ORDER BY seq LIMIT 1",
          [seq],
        )
      )?.at;
    let low = 0;
    let high = last;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      const at = await atOf(mid);
      if (at !== undefined && at < before) low = mid;
      else high = mid - 1;
    }
    return low;
  }
}
