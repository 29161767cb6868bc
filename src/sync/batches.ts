/** Batch use cases: validate (apply exactly what was staged) and cancel a blocked batch. */
import { SyncupError } from "../errors.js";
import type { ApplyStep } from "../store/apply.js";
import type { Store } from "../store/store.js";
import type { BatchRow, BatchState } from "../store/types.js";
import type { SyncReport } from "./types.js";

export async function requireBatch(store: Store, id: string): Promise<BatchRow> {
  const batch = await store.batches.get(id);
  if (batch === undefined) {
    throw new SyncupError(
      "BATCH_NOT_FOUND",
      `There is no batch ${id}. \`syncup batches list\` shows the batches.`,
    );
  }
  return batch;
}

function requireBlocked(batch: BatchRow, action: string): void {
  if (batch.state !== "blocked") {
    throw new SyncupError(
      "BATCH_STATE",
      `Batch ${batch.id} is ${batch.state}: only a blocked batch can be ${action}.`,
    );
  }
}

/**
 * Applies a blocked batch's staged changes as they are, in one transaction: thresholds are not
 * checked again and nothing is recomputed. Returns the batch's report, now `applied`.
 */
export async function validateBatch(
  store: Store,
  id: string,
  options: { beforeApplyStep?: (step: ApplyStep) => void | Promise<void> } = {},
): Promise<SyncReport> {
  const batch = await requireBatch(store, id);
  requireBlocked(batch, "validated");
  const staged = batch.report as SyncReport | null;
  if (staged === null) throw new SyncupError("INTERNAL", `Batch ${batch.id} has no report.`);
  const report: SyncReport = { ...staged, state: "applied", finishedAt: new Date().toISOString() };
  await store.transaction(async () => {
    await store.applier.apply(batch.id, batch.connector, options.beforeApplyStep);
    if (!(await store.batches.setState(batch.id, "applied", { report }, "blocked"))) {
      throw new SyncupError("BATCH_STATE", `Batch ${batch.id} changed state while being validated.`);
    }
  });
  return report;
}

/** Discards a blocked batch's staged changes; nothing reaches the repository. */
export async function cancelBatch(store: Store, id: string): Promise<BatchRow> {
  const batch = await requireBatch(store, id);
  requireBlocked(batch, "cancelled");
  const state: BatchState = "cancelled";
  if (!(await store.batches.setState(batch.id, state, {}, "blocked"))) {
    throw new SyncupError("BATCH_STATE", `Batch ${batch.id} changed state while being cancelled.`);
  }
  await store.changes.discard(batch.id);
  return { ...batch, state };
}
