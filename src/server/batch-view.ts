/** A batch as the API answers it: the row of the repository, in the protocol's words. */
import type { BatchFile, BatchView } from "../protocol/api.js";
import type { BatchRow } from "../store/types.js";

/** What every answer about a batch starts with: which batch, of what, in which state. */
export function batchHead(batch: BatchRow): Pick<BatchView, "id" | "seq" | "connector" | "mode" | "state"> {
  return {
    id: batch.id,
    seq: batch.seq,
    connector: batch.connector,
    mode: batch.mode,
    state: batch.state,
  };
}

/** What a batch did to the repository. */
export function batchCounts(batch: BatchRow): BatchView["counts"] {
  return {
    resourcesInserted: batch.resourcesInserted,
    resourcesUpdated: batch.resourcesUpdated,
    resourcesDeleted: batch.resourcesDeleted,
    linksInserted: batch.linksInserted,
    linksDeleted: batch.linksDeleted,
    orphans: batch.orphans,
  };
}

/** The batch with the files it holds. */
export function batchView(batch: BatchRow, files: readonly BatchFile[]): BatchView {
  return {
    ...batchHead(batch),
    agent: batch.agent,
    baseBatch: batch.baseBatch,
    createdAt: batch.createdAt,
    sealedAt: batch.sealedAt,
    finishedAt: batch.finishedAt,
    counts: batchCounts(batch),
    error: batch.error,
    files,
    undoOf: batch.undoOf,
    partial: batch.partial,
    approved: batch.approved,
    rejected: batch.rejected,
    expiresAt: batch.expiresAt,
  };
}
