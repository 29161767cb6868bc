/**
 * The synchronization engine's API, for the CLI (`syncup sync`, `syncup batches`,
 * `syncup resources`) and for `syncup run`.
 */
export { synchronize } from "./synchronize.js";
export { requireBatch, localActor } from "./batches.js";
export {
  validateBatch,
  cancelBatch,
  decideBatch,
  applyDecided,
  type Actor,
  type DecisionOutcome,
  type ReviewedReport,
} from "./review.js";
export { undoBatch } from "./undo.js";
export { getResources, listResources, resourceHistory, batchChanges, batchSummary } from "./inspect.js";
export type { ResourceView, LinkView } from "./inspect.js";
export type { SynchronizeOptions, SyncReport, MappingReport, SyncProgress } from "./types.js";
export { openStore, type Store } from "../store/store.js";
export type { ApplyStep } from "../store/apply.js";
export type { BatchRow, BatchState } from "../store/types.js";
export type { ThresholdCheck } from "../core/thresholds.js";
export { describeCheck } from "../core/thresholds.js";
