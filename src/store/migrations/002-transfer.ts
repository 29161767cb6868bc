import type { Migration } from "./types.js";

/**
 * The agent/server protocol and the jobs.
 *
 * - `UR_Batches.agent`, `sealed_at`: the agent that notified a batch and when it sealed it.
 *   A batch notified by an agent is `notified` until sealed, then `sealed` until synchronized.
 * - `UR_BatchFiles`: the files an agent uploaded into a batch, with their SHA-256.
 * - `UR_JobInstances`: one row per job run, with each task's outcome (`tasks`, JSON).
 */
export const transfer: Migration = {
  id: 2,
  name: "transfer",
  sql: ({ id, key }) => `
ALTER TABLE UR_Batches ADD COLUMN agent TEXT;
ALTER TABLE UR_Batches ADD COLUMN sealed_at TEXT;

CREATE TABLE UR_BatchFiles (
  batch_id TEXT NOT NULL,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  uploaded_at TEXT NOT NULL,
  PRIMARY KEY (batch_id, name)
);

CREATE TABLE UR_JobInstances (
  seq ${id},
  id TEXT NOT NULL UNIQUE,
  job ${key} NOT NULL,
  connector ${key} NOT NULL,
  mode TEXT NOT NULL,
  ran_mode TEXT NOT NULL,
  agent TEXT,
  outcome TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  batch_id TEXT,
  tasks TEXT NOT NULL,
  message TEXT
);
CREATE INDEX UR_JobInstances_job ON UR_JobInstances (job, seq);
`,
};
