import type { Migration } from "./types.js";

/**
 * `UR_LinkInputs` held the resolved pairs of an initial load's mono-valued associations until
 * they were written into their holders' rows. Initial loads now resolve them in a temporary
 * table before the rows are written (see `sync/initial.ts`); the table is always empty
 * between batches.
 */
export const dropLinkInputs: Migration = {
  id: 4,
  name: "drop-link-inputs",
  sql: () => "DROP TABLE UR_LinkInputs;",
};
