import type { Migration } from "./types.js";

/**
 * What keeps incremental and complete synchronization in proportion to their changes.
 *
 * - `UR_ScopeCounts`: what the repository holds per scope of a connector, kept up to date by
 *   every load and apply, so that the percentage thresholds of an incremental batch cost in
 *   proportion to its changes instead of a count of every row. `kind` is `resources` (scope:
 *   an entity type), `links` (scope: a multi-valued association) or a mono-valued column
 *   `i128`…`i137` (scope: the entity type holding it; n: its non-null values). A missing row
 *   is counted in full when it is next needed.
 * - `source_hash` of `UR_Resources` and `UR_ResourcesChanges`: the hash of the file cells a
 *   resource was translated from, with its mapping; complete synchronization skips translating
 *   a row whose source hash is held. Null where unknown (a merge, rows loaded before).
 */
export const scopeCountsSourceHashes: Migration = {
  id: 3,
  name: "scope-counts-source-hashes",
  sql: ({ key }) => `
CREATE TABLE UR_ScopeCounts (
  connector ${key} NOT NULL,
  kind TEXT NOT NULL,
  scope ${key} NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (connector, kind, scope)
);
ALTER TABLE UR_Resources ADD COLUMN source_hash TEXT;
ALTER TABLE UR_ResourcesChanges ADD COLUMN source_hash TEXT;
`,
};
