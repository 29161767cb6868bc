/** A row of `UR_Resources` as the database answers it, and as the store hands it out. */
import { MONO_COLUMNS, type ResourceRow, type StoredResource } from "./types.js";

export interface ResourceRecord extends StoredResource {
  connector: string;
  entity_type: string;
  batch_id: string;
  created_batch_id: string;
  [column: `i${number}`]: number | null;
}

export function toResource(row: ResourceRecord): ResourceRow {
  const mono: Record<number, number> = {};
  for (const n of MONO_COLUMNS) {
    const value = row[`i${n}`];
    if (value !== null && value !== undefined) mono[n] = value;
  }
  return {
    id: row.id,
    connector: row.connector,
    entityType: row.entity_type,
    pk: row.pk,
    uk1: row.uk1,
    uk2: row.uk2,
    uk3: row.uk3,
    hash: row.hash,
    properties: row.properties,
    batchId: row.batch_id,
    createdBatchId: row.created_batch_id,
    mono,
  };
}
