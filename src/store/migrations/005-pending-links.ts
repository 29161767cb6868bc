import type { Migration } from "./types.js";

/**
 * Links that the export holds but the repository cannot hold yet.
 *
 * - `UR_PendingLinks`: the pairs of an association file that did not become links — an end
 *   that no resource has yet (`missing`: `end1`, `end2`, `both`), or a second link of a
 *   mono-valued property (`conflict`). Every run reports them and tries them again; a pair
 *   becomes a link when its end arrives (in whatever mode that run is), and leaves the table
 *   when its row leaves the export. With `UR_ResourceLinks` (and the mono-valued columns) it
 *   holds every pair of the last applied export, which is what `previous/` holds: an
 *   incremental's delete of a pending pair is no drift.
 * - `UR_PendingLinkChanges`: what a staged batch does to them (`add`, `remove`, and `reset`:
 *   a complete replaces an association's pending pairs), applied with the batch.
 */
export const pendingLinks: Migration = {
  id: 5,
  name: "pending-links",
  sql: ({ id, key, clustered }) => `
CREATE TABLE UR_PendingLinks (
  connector ${key} NOT NULL,
  association ${key} NOT NULL,
  key1 ${key} NOT NULL,
  key2 ${key} NOT NULL,
  missing TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  PRIMARY KEY (connector, association, key1, key2)
)${clustered};

CREATE TABLE UR_PendingLinkChanges (
  id ${id},
  batch_id TEXT NOT NULL,
  operation TEXT NOT NULL,
  association ${key} NOT NULL,
  key1 ${key} NOT NULL,
  key2 ${key} NOT NULL,
  missing TEXT NOT NULL,
  line INTEGER
);
CREATE INDEX UR_PendingLinkChanges_batch ON UR_PendingLinkChanges (batch_id, operation);
`,
};
