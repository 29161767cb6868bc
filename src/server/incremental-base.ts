/**
 * Drift detection on the server: an incremental batch is a delta against the last batch the
 * server accepted for its connector, so it must name that batch as its base, and nothing may
 * stand between them.
 */
import { SyncupError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { BatchState } from "../store/types.js";
import { incrementalBaseRefusal } from "../sync/review.js";

/** States whose batch an incremental may be based on: sealed by its agent and not discarded. */
export const ACCEPTED_STATES: readonly BatchState[] = ["sealed", "staging", "blocked", "applied"];

/** Refuses (BASE_MISMATCH) an incremental of `connector` based on `base`, unless it follows the last accepted batch. */
export async function checkIncrementalBase(
  store: Store,
  connector: string,
  base: string | null,
): Promise<void> {
  const ahead = (await store.batches.inState(connector, "notified")).find((b) => b.mode !== "incremental");
  if (ahead !== undefined) {
    throw new SyncupError(
      "BASE_MISMATCH",
      `A ${ahead.mode} batch ${ahead.id} of "${connector}" is still being uploaded: an incremental batch cannot be based on what it will replace. Run a complete synchronization, or wait for it.`,
    );
  }
  const run = "Run a complete synchronization of the connector.";
  const refusal = incrementalBaseRefusal(await store.batches.lastApplied(connector));
  if (refusal !== null)
    throw new SyncupError("BASE_MISMATCH", `No incremental batch now: ${refusal}. ${run}`);
  const last = await store.batches.newestIn(connector, ACCEPTED_STATES);
  if (base !== null && last?.id === base) return;
  if (base === null) {
    throw new SyncupError(
      "BASE_MISMATCH",
      `An incremental batch of "${connector}" must name the batch its previous/ came from, and this one names none. ${run}`,
    );
  }
  const based = await store.batches.get(base);
  const reason =
    based === undefined
      ? `the server has no batch ${base}: previous/ comes from elsewhere or the repository was restored from an earlier copy`
      : based.connector !== connector
        ? `batch ${base} belongs to connector "${based.connector}"`
        : !ACCEPTED_STATES.includes(based.state)
          ? `batch ${base} was ${based.state}, never applied`
          : `batch ${base} is not the last one accepted (${last?.id ?? "none"}): previous/ is older than the repository`;
  throw new SyncupError("BASE_MISMATCH", `The incremental batch's base does not match: ${reason}. ${run}`);
}
