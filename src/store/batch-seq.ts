/**
 * How repository rows refer to batches: by the batch's `seq` in `UR_Batches` (migration 8),
 * while the store's callers and its API speak of a batch by its id.
 */
import { SyncupError } from "../errors.js";
import type { Driver } from "./driver.js";

/** The `seq` of the batch whose id is bound in its place: `batch_seq = ${BATCH_SEQ}`. */
export const BATCH_SEQ = "(SELECT seq FROM UR_Batches WHERE id = ?)";

/**
 * The columns of `UR_Resources r`, with the ids of the batches it refers to (`ResourceRecord`);
 * '' for a batch not recorded (0: a row migrated whose batch was not in `UR_Batches`).
 */
export const RESOURCE_SELECT = `r.*, COALESCE((SELECT b.id FROM UR_Batches b WHERE b.seq = r.batch_seq), '') AS batch_id,
  COALESCE((SELECT b.id FROM UR_Batches b WHERE b.seq = r.created_batch_seq), '') AS created_batch_id`;

/** The `seq` of batch `batchId`, for rows written with bound values (a bulk load). */
export async function batchSeqOf(db: Driver, batchId: string): Promise<number> {
  const row = await db.get<{ seq: number }>("SELECT seq FROM UR_Batches WHERE id = ?", [batchId]);
  if (row === undefined) throw new SyncupError("INTERNAL", `Batch ${batchId} is not recorded in UR_Batches.`);
  return Number(row.seq);
}
