import type { DdlTypes, Migration } from "./types.js";

const monoColumns = Array.from({ length: 10 }, (_, i) => 128 + i);

/**
 * The repository and the synchronization's bookkeeping.
 *
 * - `UR_Resources`: one row per resource. `properties` is the JSON text of the scalar values
 *   (an object keyed by property name, nulls left out, in mapping order); `hash` is a hash
 *   of the unique keys and that text, which complete synchronization compares. `i128`…`i137`
 *   hold the mono-valued navigation properties (the id of the resource pointed to).
 * - `UR_ResourceLinks`: multi-valued navigation properties, keyed by the two key values as
 *   they appear in the association file, so that links can be merge-joined in file order.
 * - `UR_ResourcesChanges`, `UR_ResourceLinkChanges`: the changes a batch staged. Once the
 *   batch is applied they stay, as its journal; other states discard them.
 * - `UR_Batches`: one row per synchronization run; `report` is its JSON report.
 * - `UR_LinkInputs`: scratch rows of an initial load (mono-valued links), deleted at its end.
 *
 * One function per table builds its DDL; the text they make together must never change (the
 * migration is history), which `001-initial.test.ts` holds it to.
 */
export const initial: Migration = {
  id: 1,
  name: "initial",
  sql: (types) => `
${[batches, resources, resourceLinks, resourcesChanges, resourceLinkChanges, linkInputs]
  .map((table) => table(types))
  .join("\n\n")}
`,
};

/** The indexes of the unique keys `uk1`…`uk3` of `table`, each after the columns `scope`. */
function ukIndexes(table: string, scope: string): string {
  return [1, 2, 3]
    .map((n) => `CREATE INDEX ${table}_uk${n} ON ${table} (${scope}, uk${n}) WHERE uk${n} IS NOT NULL;`)
    .join("\n");
}

function batches({ id, key }: DdlTypes): string {
  return `CREATE TABLE UR_Batches (
  seq ${id},
  id TEXT NOT NULL UNIQUE,
  connector ${key} NOT NULL,
  mode TEXT NOT NULL,
  state TEXT NOT NULL,
  dry_run INTEGER NOT NULL DEFAULT 0,
  forced INTEGER NOT NULL DEFAULT 0,
  source TEXT,
  prepared_at TEXT,
  base_batch TEXT,
  created_at TEXT NOT NULL,
  finished_at TEXT,
  resources_inserted INTEGER NOT NULL DEFAULT 0,
  resources_updated INTEGER NOT NULL DEFAULT 0,
  resources_deleted INTEGER NOT NULL DEFAULT 0,
  links_inserted INTEGER NOT NULL DEFAULT 0,
  links_deleted INTEGER NOT NULL DEFAULT 0,
  orphans INTEGER NOT NULL DEFAULT 0,
  report TEXT,
  error TEXT
);
CREATE INDEX UR_Batches_connector ON UR_Batches (connector, state);`;
}

function resources({ id, ref, key }: DdlTypes): string {
  return `CREATE TABLE UR_Resources (
  id ${id},
  connector ${key} NOT NULL,
  entity_type ${key} NOT NULL,
  pk ${key} NOT NULL,
  uk1 ${key},
  uk2 ${key},
  uk3 ${key},
  hash TEXT NOT NULL,
  properties TEXT NOT NULL,
${monoColumns.map((n) => `  i${n} ${ref},`).join("\n")}
  batch_id TEXT NOT NULL,
  created_batch_id TEXT NOT NULL
);
CREATE UNIQUE INDEX UR_Resources_pk ON UR_Resources (connector, entity_type, pk);
${ukIndexes("UR_Resources", "connector, entity_type")}
${monoColumns.map((n) => `CREATE INDEX UR_Resources_i${n} ON UR_Resources (i${n}) WHERE i${n} IS NOT NULL;`).join("\n")}`;
}

function resourceLinks({ ref, key, clustered }: DdlTypes): string {
  return `CREATE TABLE UR_ResourceLinks (
  connector ${key} NOT NULL,
  association ${key} NOT NULL,
  key1 ${key} NOT NULL,
  key2 ${key} NOT NULL,
  resource1 ${ref} NOT NULL,
  resource2 ${ref} NOT NULL,
  batch_id TEXT NOT NULL,
  PRIMARY KEY (connector, association, key1, key2)
)${clustered};
CREATE INDEX UR_ResourceLinks_resource1 ON UR_ResourceLinks (resource1);
CREATE INDEX UR_ResourceLinks_resource2 ON UR_ResourceLinks (resource2);`;
}

function resourcesChanges({ id, ref, key }: DdlTypes): string {
  return `CREATE TABLE UR_ResourcesChanges (
  id ${id},
  batch_id TEXT NOT NULL,
  operation TEXT NOT NULL,
  entity_type ${key} NOT NULL,
  pk ${key} NOT NULL,
  uk1 ${key},
  uk2 ${key},
  uk3 ${key},
  hash TEXT,
  properties TEXT,
  resource_id ${ref},
  relinks INTEGER NOT NULL DEFAULT 0,
  line INTEGER
);
CREATE INDEX UR_ResourcesChanges_pk ON UR_ResourcesChanges (batch_id, entity_type, pk);
CREATE INDEX UR_ResourcesChanges_resource ON UR_ResourcesChanges (batch_id, resource_id);
${ukIndexes("UR_ResourcesChanges", "batch_id, entity_type")}
CREATE INDEX UR_ResourcesChanges_history ON UR_ResourcesChanges (pk);`;
}

function resourceLinkChanges({ id, ref, key }: DdlTypes): string {
  return `CREATE TABLE UR_ResourceLinkChanges (
  id ${id},
  batch_id TEXT NOT NULL,
  operation TEXT NOT NULL,
  association ${key} NOT NULL,
  key1 ${key} NOT NULL,
  key2 ${key} NOT NULL,
  end1_type ${key} NOT NULL,
  end2_type ${key} NOT NULL,
  resource1_pk ${key},
  resource2_pk ${key},
  resource1_id ${ref},
  resource2_id ${ref},
  mono_column INTEGER,
  mono_end INTEGER,
  line INTEGER
);
CREATE INDEX UR_ResourceLinkChanges_batch ON UR_ResourceLinkChanges (batch_id, association, operation);`;
}

function linkInputs({ ref, key }: DdlTypes): string {
  return `CREATE TABLE UR_LinkInputs (
  batch_id TEXT NOT NULL,
  association ${key} NOT NULL,
  line INTEGER NOT NULL,
  key1 ${key} NOT NULL,
  key2 ${key} NOT NULL,
  holder ${ref} NOT NULL,
  target ${ref} NOT NULL
);`;
}
