/**
 * A batch's life, as a small state machine: the states a batch may move to from each state.
 * Every change of a batch's state goes through `BatchRepository.setState`, which refuses a
 * move this table does not allow (nothing changes, and it says so), so that no path can, for
 * example, apply a cancelled batch or re-open an applied one. Batch ids are minted here too.
 *
 * ```
 * notified ─seal─▶ sealed ─claim─▶ staging ─▶ applied | blocked | previewed | failed
 *    │               │  ▲             │            blocked, previewed ─validate, apply─▶ applied
 *    └▶ cancelled    │  └─requeue─────┘            blocked, previewed ─▶ cancelled | superseded
 *                    └▶ cancelled | superseded
 * ```
 */
import { randomUUID } from "node:crypto";
import type { BatchState } from "./api.js";

export const BATCH_TRANSITIONS: Readonly<Record<BatchState, readonly BatchState[]>> = {
  // An agent's batch: files being uploaded; abandoned, timed out or made moot by a complete.
  notified: ["sealed", "cancelled", "superseded"],
  // Waiting for its turn; a complete notified later makes an incremental moot.
  sealed: ["staging", "cancelled", "superseded"],
  // Being staged or loaded; an interrupted agent batch goes back to the queue.
  staging: ["applied", "blocked", "previewed", "failed", "sealed"],
  // Waiting for a decision: applied (whole or in part), cancelled, or made moot by a complete.
  blocked: ["applied", "cancelled", "superseded"],
  applied: [],
  cancelled: [],
  superseded: [],
  failed: [],
  // A dry run's staged changes, kept for review: applied as decided, discarded, or expired.
  previewed: ["applied", "cancelled", "superseded"],
};

/** Whether a batch may move from `from` to `to`. */
export function canMove(from: BatchState, to: BatchState): boolean {
  return BATCH_TRANSITIONS[from].includes(to);
}

/** The states a batch may reach `to` from. */
export function statesBefore(to: BatchState): BatchState[] {
  return (Object.keys(BATCH_TRANSITIONS) as BatchState[]).filter((from) => canMove(from, to));
}

/**
 * Why a connector's incremental runs wait: the one message of a blocked connector, wherever it
 * is found (the synchronization, the server's notification, a job, `syncup run`).
 */
export function blockedMessage(connector: string, batchId: string): string {
  return `Connector "${connector}" has a blocked batch ${batchId}: its changes crossed a threshold, and its incremental runs wait until it is validated (syncup batches validate ${batchId}) or cancelled (syncup batches cancel ${batchId}), or a complete run supersedes it.`;
}

/** A new batch id (a UUID): the one place batches get their ids. */
export function newBatchId(): string {
  return randomUUID();
}
