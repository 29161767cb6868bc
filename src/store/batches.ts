import type { Mode } from "../protocol/mode.js";
import { SyncupError } from "../errors.js";
import { canMove, statesBefore } from "../protocol/batch-states.js";
import { placeholders, type Driver } from "./driver.js";
import type { BatchFileRow, BatchRow, BatchState, ChangeCounts } from "./types.js";

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
  agent: string | null;
  sealed_at: string | null;
  undo_of: string | null;
  partial: number;
  approved: number | null;
  rejected: number | null;
  expires_at: string | null;
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
  /** The agent that notified it: the batch starts `notified` instead of `staging`. */
  agent?: string;
  /** An undo batch: the batch it reverses. */
  undoOf?: string;
}

export interface BatchOutcome {
  counts?: ChangeCounts;
  report?: unknown;
  /** The error to record; null clears it. */
  error?: string | null;
  /** A kept preview: when its staged changes are discarded. */
  expiresAt?: string | null;
  /** A decided batch: how many changes were approved and rejected. */
  decided?: { approved: number; rejected: number };
}

/** `UR_Batches`: one row per synchronization run. */
/** Which batches `BatchRepository.list` answers. */
export interface BatchListFilter {
  readonly connector?: string;
  /** Only these connectors' batches (an agent's). */
  readonly connectors?: readonly string[];
  readonly state?: BatchState;
  readonly mode?: Mode;
  /** Created at or after (ISO 8601). */
  readonly since?: string;
  /** Created before (ISO 8601). */
  readonly until?: string;
  /** The `seq` of the last batch of the previous page. */
  readonly before?: number;
}

export class BatchRepository {
  constructor(private readonly db: Driver) {}

  async create(batch: NewBatch): Promise<void> {
    await this.db.run(
      `INSERT INTO UR_Batches (id, connector, mode, state, dry_run, forced, source, prepared_at, base_batch, created_at, agent, undo_of)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        batch.id,
        batch.connector,
        batch.mode,
        batch.agent === undefined ? "staging" : "notified",
        batch.dryRun ? 1 : 0,
        batch.forced ? 1 : 0,
        batch.source,
        batch.preparedAt,
        batch.baseBatch,
        new Date().toISOString(),
        batch.agent ?? null,
        batch.undoOf ?? null,
      ],
    );
  }

  /** Records that a notified batch's files are complete; false when it is no longer `notified`. */
  async seal(id: string, source: string): Promise<boolean> {
    return (
      (await this.db.run(
        "UPDATE UR_Batches SET state = 'sealed', sealed_at = ?, source = ? WHERE id = ? AND state = 'notified'",
        [new Date().toISOString(), source, id],
      )) === 1
    );
  }

  /** The connector's batches in any of `states`, oldest first. */
  async inStates(connector: string, states: readonly BatchState[]): Promise<BatchRow[]> {
    const rows = await this.db.all<BatchRecord>(
      `SELECT * FROM UR_Batches WHERE connector = ? AND state IN (${placeholders(states.length)}) ORDER BY seq`,
      [connector, ...states],
    );
    return rows.map(toBatch);
  }

  /** Connectors that have batches in any of `states`. */
  async connectorsWith(states: readonly BatchState[]): Promise<string[]> {
    const rows = await this.db.all<{ connector: string }>(
      `SELECT DISTINCT connector FROM UR_Batches WHERE state IN (${placeholders(states.length)}) ORDER BY connector`,
      [...states],
    );
    return rows.map((r) => r.connector);
  }

  /** The newest batch of the connector among `states` (dry runs left out). */
  async newestIn(connector: string, states: readonly BatchState[]): Promise<BatchRow | undefined> {
    const row = await this.db.get<BatchRecord>(
      `SELECT * FROM UR_Batches WHERE connector = ? AND dry_run = 0 AND state IN (${placeholders(states.length)}) ORDER BY seq DESC LIMIT 1`,
      [connector, ...states],
    );
    return row === undefined ? undefined : toBatch(row);
  }

  /** How many batches are in each state. */
  async countByState(): Promise<Map<BatchState, number>> {
    const rows = await this.db.all<{ state: string; n: number }>(
      "SELECT state, COUNT(*) AS n FROM UR_Batches GROUP BY state",
    );
    return new Map(rows.map((r) => [r.state as BatchState, Number(r.n)]));
  }

  async addFile(batchId: string, file: BatchFileRow): Promise<void> {
    await this.db.run(
      "INSERT INTO UR_BatchFiles (batch_id, name, sha256, bytes, uploaded_at) VALUES (?, ?, ?, ?, ?)",
      [batchId, file.name, file.sha256, file.bytes, new Date().toISOString()],
    );
  }

  async files(batchId: string): Promise<BatchFileRow[]> {
    const rows = await this.db.all<BatchFileRow>(
      "SELECT name, sha256, bytes FROM UR_BatchFiles WHERE batch_id = ? ORDER BY name",
      [batchId],
    );
    return rows.map((r) => ({ name: r.name, sha256: r.sha256, bytes: Number(r.bytes) }));
  }

  async get(id: string): Promise<BatchRow | undefined> {
    const row = await this.db.get<BatchRecord>("SELECT * FROM UR_Batches WHERE id = ?", [id]);
    return row === undefined ? undefined : toBatch(row);
  }

  /**
   * The newest batches first, of one connector or of all, in one state or mode, created within
   * `[since, until)`; a page continues before the batch numbered `before` (keyset on `seq`).
   */
  async list(options: BatchListFilter & { limit: number }): Promise<BatchRow[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    for (const [column, op, value] of [
      ["mode", "=", options.mode],
      ["created_at", ">=", options.since],
      ["created_at", "<", options.until],
      ["seq", "<", options.before],
    ] as const) {
      if (value === undefined) continue;
      where.push(`${column} ${op} ?`);
      params.push(value);
    }
    if (options.connectors !== undefined) {
      where.push(`connector IN (${placeholders(options.connectors.length)})`);
      params.push(...options.connectors);
    }
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

  /** The connector's blocked batch, if it has one (its incremental runs wait for it). */
  async blocked(connector: string): Promise<BatchRow | undefined> {
    return (await this.inState(connector, "blocked"))[0];
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
    if (outcome.expiresAt !== undefined) {
      sets.push("expires_at = ?");
      params.push(outcome.expiresAt);
    }
    if (outcome.decided !== undefined) {
      sets.push("approved = ?", "rejected = ?", "partial = ?");
      params.push(outcome.decided.approved, outcome.decided.rejected, outcome.decided.rejected > 0 ? 1 : 0);
    }
    // Only a move the batch state machine allows (`protocol/batch-states.ts`), from `from` when
    // given, else from any state it allows: otherwise nothing changes and the answer is false.
    if (from !== undefined && !canMove(from, state)) {
      throw new SyncupError("INTERNAL", `A batch cannot move from ${from} to ${state}.`);
    }
    const before = from === undefined ? statesBefore(state) : [from];
    params.push(id, ...before);
    const sql = `UPDATE UR_Batches SET ${sets.join(", ")} WHERE id = ? AND state IN (${placeholders(before.length)})`;
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
    agent: row.agent,
    sealedAt: row.sealed_at,
    undoOf: row.undo_of,
    partial: Number(row.partial) === 1,
    approved: row.approved === null ? null : Number(row.approved),
    rejected: row.rejected === null ? null : Number(row.rejected),
    expiresAt: row.expires_at,
  };
}
