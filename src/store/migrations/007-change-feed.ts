import type { Migration } from "./types.js";

/**
 * The change feed: what each apply changed, for downstream systems.
 *
 * - `UR_ChangeFeed`: one row. `last_seq` is the sequence number of the latest event; an apply
 *   that writes events updates it in its own transaction, which holds the row's lock until it
 *   commits, so that writers of the feed take their numbers one after the other and commit in
 *   that order (no gap, no event seen before a smaller one). `pruned_through` is the highest
 *   sequence number pruned by the retention: a consumer whose cursor is below it missed events.
 * - `UR_ChangeEvents`: one row per applied change, numbered by `seq`. `kind` is `resource`,
 *   `link` (a multi-valued association) or `reference` (a mono-valued one: `mono_column` and
 *   `mono_end`, the end that holds it); `decision` is the JSON of the decision that let the
 *   batch through. Resource events carry the values after (`uk*`, `properties`) and before
 *   (`before_*`); link and reference events carry the association's keys and both ends' entity
 *   types and primary keys.
 * - `UR_FeedSinks`: each push sink's durable cursor (`position`, the last event it delivered or
 *   set aside), its retry state and what it delivered; `UR_FeedDeadLetters`: the events a sink
 *   gave up on after its attempts.
 */
export const changeFeed: Migration = {
  id: 7,
  name: "change-feed",
  sql: ({ id, ref, key }) => `
CREATE TABLE UR_ChangeFeed (
  id INTEGER PRIMARY KEY,
  last_seq BIGINT NOT NULL,
  pruned_through BIGINT NOT NULL
);
INSERT INTO UR_ChangeFeed (id, last_seq, pruned_through) VALUES (1, 0, 0);

CREATE TABLE UR_ChangeEvents (
  seq ${ref} PRIMARY KEY,
  at TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  connector ${key} NOT NULL,
  mode TEXT NOT NULL,
  decision TEXT NOT NULL,
  kind TEXT NOT NULL,
  operation TEXT NOT NULL,
  entity_type ${key},
  pk ${key},
  uk1 ${key},
  uk2 ${key},
  uk3 ${key},
  properties TEXT,
  before_uk1 ${key},
  before_uk2 ${key},
  before_uk3 ${key},
  before_properties TEXT,
  association ${key},
  key1 ${key},
  key2 ${key},
  end1_type ${key},
  end2_type ${key},
  end1_pk ${key},
  end2_pk ${key},
  mono_column INTEGER,
  mono_end INTEGER,
  cascaded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX UR_ChangeEvents_connector ON UR_ChangeEvents (connector, seq);

CREATE TABLE UR_FeedSinks (
  name ${key} PRIMARY KEY,
  position BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  retry_at TEXT,
  delivered BIGINT NOT NULL DEFAULT 0,
  dead BIGINT NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);

CREATE TABLE UR_FeedDeadLetters (
  id ${id},
  sink ${key} NOT NULL,
  seq BIGINT NOT NULL,
  error TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX UR_FeedDeadLetters_sink ON UR_FeedDeadLetters (sink, seq);
`,
};
