import type { Mode } from "../config/config.js";
import type { Driver } from "./driver.js";
import type { BatchRow, BatchState, ChangeCounts } from "./types.js";

interface BatchRecord {
  seq: number;
  id: string;
  connector: string;
  mode: string;
  state: string;
  dry_run: number;
  forced: number;
  source: string | null;
  prepared_at: string | null;
  base_batch: string | null;
  created_at: string;
  finished_at: string | null;
  resources_inserted: number;
  resources_updated: number;
  resources_deleted: number;
  links_inserted: number;
  links_deleted: number;
  orphans: number;
  report: string | null;
  error: string | null;
}

export interface NewBatch {
  id: string;
  connector: string;
  mode: Mode;
  dryRun: boolean;
  forced: boolean;
  source: string | null;
  preparedAt: string | null;
  baseBatch: string | null;
}

export interface BatchOutcome {
  counts?: ChangeCounts;
  report?: unknown;
  error?: string;
}

/** `UR_Batches`: one row per synchronization run. */
export class BatchRepository {
  constructor(private readonly db: Driver) {}

  async create(batch: NewBatch): Promise<void> {
    await this.db.run(
      `INSERT INTO UR_Batches (id, connector, mode, state, dry_run, forced, source, prepared_at, base_batch, created_at)
       VALUES (?, ?, ?, 'staging', ?, ?, ?, ?, ?, ?)`,
      [
        batch.id,
        batch.connector,
        batch.mode,
        batch.dryRun ? 1 : 0,
        batch.forced ? 1 : 0,
        batch.source,
        batch.preparedAt,
        batch.baseBatch,
        new Date().toISOString(),
      ],
    );
  }

  async get(id: string): Promise<BatchRow | undefined> {
    const row = await this.db.get<BatchRecord>("SELECT * FROM UR_Batches WHERE id = ?", [id]);
    return row === undefined ? undefined : toBatch(row);
  }

  /** The newest batches first, of one connector or of all. */
  async list(options: { connector?: string; state?: BatchState; limit: number }): Promise<BatchRow[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (options.connector !== undefined) {
      where.push("connector = ?");
      params.push(options.connector);
    }
    if (options.state !== undefined) {
      where.push("state = ?");
      params.push(options.state);
    }
    const rows = await this.db.all<BatchRecord>(
      `SELECT * FROM UR_Batches ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`,
      [...params, options.limit],
    );
    return rows.map(toBatch);
  }

  /** The connector's batches in one state, oldest first. */
  async inState(connector: string, state: BatchState): Promise<BatchRow[]> {
    const rows = await this.db.all<BatchRecord>(
      "SELECT * FROM UR_Batches WHERE connector = ? AND state = ? ORDER BY seq",
      [connector, state],
    );
    return rows.map(toBatch);
  }

  /** The last batch applied to the connector's resources (of one mode, before the batch numbered `before`). */
  async lastApplied(
    connector: string,
    options: { mode?: Mode; before?: number } = {},
  ): Promise<BatchRow | undefined> {
    let sql = "SELECT * FROM UR_Batches WHERE connector = ? AND state = 'applied'";
    const params: (string | number)[] = [connector];
    if (options.mode !== undefined) {
      sql += " AND mode = ?";
      params.push(options.mode);
    }
    if (options.before !== undefined) {
      sql += " AND seq < ?";
      params.push(options.before);
    }
    const row = await this.db.get<BatchRecord>(`${sql} ORDER BY seq DESC LIMIT 1`, params);
    return row === undefined ? undefined : toBatch(row);
  }

  /** Moves a batch to `state`; `from` guards against a concurrent move (returns false then). */
  async setState(
    id: string,
    state: BatchState,
    outcome: BatchOutcome = {},
    from?: BatchState,
  ): Promise<boolean> {
    const sets = ["state = ?", "finished_at = ?"];
    const params: (string | number | null)[] = [state, state === "staging" ? null : new Date().toISOString()];
    if (outcome.counts !== undefined) {
      const c = outcome.counts;
      sets.push(
        "resources_inserted = ?",
        "resources_updated = ?",
        "resources_deleted = ?",
        "links_inserted = ?",
        "links_deleted = ?",
        "orphans = ?",
      );
      params.push(
        c.resourcesInserted,
        c.resourcesUpdated,
        c.resourcesDeleted,
        c.linksInserted,
        c.linksDeleted,
        c.orphans,
      );
    }
    if (outcome.report !== undefined) {
      sets.push("report = ?");
      params.push(JSON.stringify(outcome.report));
    }
    if (outcome.error !== undefined) {
      sets.push("error = ?");
      params.push(outcome.error);
    }
    params.push(id);
    let sql = `UPDATE UR_Batches SET ${sets.join(", ")} WHERE id = ?`;
    if (from !== undefined) {
      sql += " AND state = ?";
      params.push(from);
    }
    return (await this.db.run(sql, params)) === 1;
  }
}

function toBatch(row: BatchRecord): BatchRow {
  return {
    id: row.id,
    seq: row.seq,
    connector: row.connector,
    mode: row.mode as Mode,
    state: row.state as BatchState,
    dryRun: row.dry_run === 1,
    forced: row.forced === 1,
    source: row.source,
    preparedAt: row.prepared_at,
    baseBatch: row.base_batch,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    resourcesInserted: row.resources_inserted,
    resourcesUpdated: row.resources_updated,
    resourcesDeleted: row.resources_deleted,
    linksInserted: row.links_inserted,
    linksDeleted: row.links_deleted,
    orphans: row.orphans,
    report: row.report === null ? null : (JSON.parse(row.report) as unknown),
    error: row.error,
  };
}
