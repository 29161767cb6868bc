/**
 * Undo: the inverse of an applied batch, staged from its before-images as a batch of its own
 * (`undoOf`), which passes the thresholds like any other. See `store/undo.ts` for the SQL.
 */
import type { Config } from "../config/config.js";
import { requireConnector } from "../config/require-connector.js";
import { SyncupError } from "../errors.js";
import { newBatchId } from "../protocol/batch-states.js";
import type { ApplyStep } from "../store/apply.js";
import type { Store } from "../store/store.js";
import type { BatchRow, ChangeCounts } from "../store/types.js";
import { recordFeed } from "./change-feed.js";
import { takenCounts, withBatch, type Actor, type ReviewedReport } from "./review.js";
import { batchThresholds, countedScopes } from "./thresholds-check.js";
import type { SyncReport } from "./types.js";

export interface UndoOptions {
  /** Undo even when later batches changed the same resources or links (their changes are overwritten). */
  readonly force?: boolean;
  readonly beforeApplyStep?: (step: ApplyStep) => void | Promise<void>;
}

/**
 * Stages the inverse of an applied batch as a new batch (`undoOf`), which passes the
 * thresholds like any other: applied, or blocked for a decision. Refused, naming them, when
 * batches applied later changed the same resources or links, unless forced.
 */
export async function undoBatch(
  store: Store,
  config: Config,
  id: string,
  actor: Actor,
  options: UndoOptions = {},
): Promise<ReviewedReport> {
  return withBatch(store, id, async (batch) => {
    if (batch.state !== "applied") {
      throw new SyncupError(
        "BATCH_STATE",
        `Batch ${batch.id} is ${batch.state}: only an applied batch can be undone.`,
      );
    }
    const connector = requireConnector(config, batch.connector);
    const blocked = await store.batches.blocked(connector.name);
    if (blocked !== undefined) {
      throw new SyncupError(
        "CONNECTOR_BLOCKED",
        `Connector "${connector.name}" has a blocked batch ${blocked.id}, staged against the repository as it is: decide on it (apply or cancel) before undoing batch ${batch.id}.`,
      );
    }
    await requireUndoable(store, batch, options.force === true);
    const started = new Date();
    const undoId = newBatchId();
    await store.batches.create({
      id: undoId,
      connector: connector.name,
      mode: "complete",
      dryRun: false,
      forced: options.force === true,
      source: null,
      preparedAt: null,
      baseBatch: null,
      undoOf: batch.id,
    });
    try {
      // Previews staged against the repository as it is would apply over the undo.
      for (const preview of await store.batches.inState(connector.name, "previewed")) {
        if (
          await store.batches.setState(
            preview.id,
            "superseded",
            { error: `superseded by undo ${undoId}` },
            "previewed",
          )
        )
          await store.changes.discard(preview.id);
      }
      if (batch.mode === "initial") await store.undo.stageInitial(batch.id, undoId, connector.name);
      else await store.undo.stage(batch.id, undoId, connector.name);
      const skipped = await store.undo.dropUnresolvable(undoId, connector.name);
      await store.journal.captureBefore(undoId);
      const held = await store.counts.held(connector.name, countedScopes(config, connector));
      const checks = await batchThresholds(store, connector, undoId, held);
      const counts = await takenCounts(store, { ...batch, id: undoId, orphans: 0 });
      const report = undoReport({
        undoId,
        batch,
        counts,
        checks,
        skipped,
        started,
        forced: options.force === true,
      });
      const state = report.state;
      await store.transaction(async () => {
        if (state === "applied") {
          await store.applier.apply(undoId, connector.name, options.beforeApplyStep);
          await recordFeed(store, config, undoId);
        }
        await store.batches.setState(undoId, state, { counts, report }, "staging");
        const entry = { principal: actor.id, role: actor.role, action: "undo", changes: totalOf(counts) };
        await store.journal.record(batch.id, { ...entry, note: `undone by batch ${undoId}` });
        await store.journal.record(undoId, { ...entry, note: `undoes batch ${batch.id}` });
      });
      return report;
    } catch (error) {
      await store.changes.discard(undoId);
      await store.batches.setState(undoId, "failed", { error: (error as Error).message }, "staging");
      throw error;
    }
  });
}

function totalOf(c: ChangeCounts): number {
  return c.resourcesInserted + c.resourcesUpdated + c.resourcesDeleted + c.linksInserted + c.linksDeleted;
}

async function requireUndoable(store: Store, batch: BatchRow, force: boolean): Promise<void> {
  if (batch.mode !== "initial" && (await store.undo.withoutBeforeImage(batch.id)) > 0) {
    throw new SyncupError(
      "UNDO_UNAVAILABLE",
      `Batch ${batch.id} was applied before before-images were kept: it cannot be undone. Run a complete synchronization to bring the repository to its source.`,
    );
  }
  if (force) return;
  if (batch.mode === "initial") {
    const later = await store.batches.lastApplied(batch.connector);
    if (later !== undefined && later.seq > batch.seq) {
      throw new SyncupError(
        "UNDO_CONFLICT",
        `Batch ${later.id} of connector "${batch.connector}" was applied after the initial load ${batch.id}: undoing the load would remove what it changed too. Pass --force to remove every resource the load created anyway.`,
      );
    }
    return;
  }
  const conflicts = await store.undo.conflicts(batch, 10);
  if (conflicts.length === 0) return;
  const list = conflicts.map((c) =>
    c.kind === "resource"
      ? `${c.scope} "${c.key}" (batch ${c.batchId})`
      : `${c.scope} ${c.key} → ${c.key2 ?? ""} (batch ${c.batchId})`,
  );
  throw new SyncupError(
    "UNDO_CONFLICT",
    `Batches applied after ${batch.id} changed the same resources or links: ${list.join(", ")}${conflicts.length === 10 ? ", …" : ""}. Undo those batches first, or pass --force to bring these back to their state before ${batch.id} anyway.`,
  );
}

/** The report of an undo batch: blocked when it crosses a threshold and is not forced. */
function undoReport(u: {
  undoId: string;
  batch: BatchRow;
  counts: ChangeCounts;
  checks: SyncReport["thresholds"];
  skipped: number;
  started: Date;
  forced: boolean;
}): ReviewedReport {
  const crossed = u.checks.filter((c) => c.crossed);
  const finished = new Date();
  return {
    batchId: u.undoId,
    connector: u.batch.connector,
    mode: "complete",
    state: crossed.length > 0 && !u.forced ? "blocked" : "applied",
    dryRun: false,
    forced: u.forced,
    resources: {
      inserted: u.counts.resourcesInserted,
      updated: u.counts.resourcesUpdated,
      deleted: u.counts.resourcesDeleted,
      unchanged: 0,
    },
    links: { inserted: u.counts.linksInserted, deleted: u.counts.linksDeleted },
    orphans: u.skipped,
    monoConflicts: 0,
    orphanFiles: [],
    mappings: [],
    thresholds: u.checks,
    crossed,
    startedAt: u.started.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: (finished.getTime() - u.started.getTime()) / 1000,
    undoOf: u.batch.id,
  };
}
