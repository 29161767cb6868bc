import type { Migration } from "./types.js";

/**
 * Review and decision: what a change was before, who decided what, and undo.
 *
 * - `before_*` of `UR_ResourcesChanges`: the resource as the repository held it before the
 *   change (updates and deletes), captured when the batch is staged. With `pk` and
 *   `properties` (after), they make the journal a before/after record that an undo restores
 *   from.
 * - `decision` of both change tables: null (no decision: the batch applied as staged),
 *   `approved` or `rejected` (a partial decision on a blocked or previewed batch).
 * - `cascaded` of `UR_ResourceLinkChanges`: 1 for a link that the apply removed because one of
 *   its ends was deleted, and for a mono-valued reference that a deleted resource held or that
 *   pointed to one (journaled so that an undo brings them back; such a reference's
 *   `association` is `@i<column>`, the column it was held in); `resource1_pk` and
 *   `resource2_pk` are filled for every journaled link, so that an undo finds ends re-inserted
 *   with new ids.
 * - `UR_Batches`: `undo_of` (the batch an undo batch reverses), `partial` (1 when some staged
 *   changes were rejected), `approved`/`rejected` counts, `expires_at` (a kept preview).
 * - `UR_Decisions`: the decision journal — who (principal and role), when, what (`approve`,
 *   `reject`, `apply`, `validate`, `cancel`, `undo`), how many changes, with which selection.
 */
export const review: Migration = {
  id: 6,
  name: "review",
  sql: ({ id, key }) => `
ALTER TABLE UR_ResourcesChanges ADD COLUMN before_uk1 ${key};
ALTER TABLE UR_ResourcesChanges ADD COLUMN before_uk2 ${key};
ALTER TABLE UR_ResourcesChanges ADD COLUMN before_uk3 ${key};
ALTER TABLE UR_ResourcesChanges ADD COLUMN before_hash TEXT;
ALTER TABLE UR_ResourcesChanges ADD COLUMN before_properties TEXT;
ALTER TABLE UR_ResourcesChanges ADD COLUMN before_source_hash TEXT;
ALTER TABLE UR_ResourcesChanges ADD COLUMN decision TEXT;
ALTER TABLE UR_ResourceLinkChanges ADD COLUMN decision TEXT;
ALTER TABLE UR_ResourceLinkChanges ADD COLUMN cascaded INTEGER NOT NULL DEFAULT 0;
CREATE INDEX UR_ResourcesChanges_page ON UR_ResourcesChanges (batch_id, id);
CREATE INDEX UR_ResourcesChanges_op ON UR_ResourcesChanges (batch_id, operation, id);
CREATE INDEX UR_ResourceLinkChanges_page ON UR_ResourceLinkChanges (batch_id, id);
CREATE INDEX UR_ResourceLinkChanges_keys ON UR_ResourceLinkChanges (association, key1, key2);
ALTER TABLE UR_Batches ADD COLUMN undo_of TEXT;
ALTER TABLE UR_Batches ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;
ALTER TABLE UR_Batches ADD COLUMN approved INTEGER;
ALTER TABLE UR_Batches ADD COLUMN rejected INTEGER;
ALTER TABLE UR_Batches ADD COLUMN expires_at TEXT;

CREATE TABLE UR_Decisions (
  id ${id},
  batch_id TEXT NOT NULL,
  principal TEXT NOT NULL,
  role TEXT NOT NULL,
  at TEXT NOT NULL,
  action TEXT NOT NULL,
  changes INTEGER NOT NULL DEFAULT 0,
  selection TEXT,
  note TEXT
);
CREATE INDEX UR_Decisions_batch ON UR_Decisions (batch_id, id);
`,
};
