/** An event of the change feed as `UR_ChangeEvents` holds it, and as the store hands it out. */
import type { Dialect } from "./driver.js";

/** The columns of `UR_ChangeEvents`, in order. */
export const EVENT_COLUMNS = `seq, at, batch_id, connector, mode, decision, kind, operation, entity_type, pk, uk1, uk2, uk3,
  properties, before_uk1, before_uk2, before_uk3, before_properties, association, key1, key2, end1_type, end2_type,
  end1_pk, end2_pk, mono_column, mono_end, cascaded`;

/** The columns of an event that a part of a write selects (after `seq … decision`). */
export const PART_COLUMNS = [
  "kind",
  "operation",
  "entity_type",
  "pk",
  "uk1",
  "uk2",
  "uk3",
  "properties",
  "before_uk1",
  "before_uk2",
  "before_uk3",
  "before_properties",
  "association",
  "key1",
  "key2",
  "end1_type",
  "end2_type",
  "end1_pk",
  "end2_pk",
  "mono_column",
  "mono_end",
  "cascaded",
] as const;

/** An event as stored. */
export interface FeedRow {
  readonly seq: number;
  readonly at: string;
  readonly batchId: string;
  readonly connector: string;
  readonly mode: string;
  readonly decision: string;
  readonly kind: "resource" | "link" | "reference";
  readonly operation: "insert" | "update" | "delete";
  readonly entityType: string | null;
  readonly pk: string | null;
  readonly uk: readonly (string | null)[];
  readonly properties: string | null;
  readonly beforeUk: readonly (string | null)[];
  readonly beforeProperties: string | null;
  readonly association: string | null;
  readonly key1: string | null;
  readonly key2: string | null;
  readonly end1Type: string | null;
  readonly end2Type: string | null;
  readonly end1Pk: string | null;
  readonly end2Pk: string | null;
  readonly monoColumn: number | null;
  readonly monoEnd: number | null;
  readonly cascaded: boolean;
}

/**
 * An event as JSON text (`eventJsonSql`); `named` is false for a reference journaled by column,
 * whose association (`@i<column>`) the reader names.
 */
export interface FeedJsonText {
  readonly seq: number;
  readonly json: string;
  readonly named: boolean;
}

/** An event as JSON text, with what routes it. */
export interface FeedJsonRow extends FeedJsonText {
  readonly at: string;
  readonly connector: string;
  readonly kind: FeedRow["kind"];
  /** The event's operation (a link or reference is inserted or deleted). */
  readonly operation: FeedRow["operation"];
  /** The entity type of a resource event, the association of a link or reference event. */
  readonly scope: string;
}

/** A `FeedJsonText` and a `FeedJsonRow` as the driver reads them. */
export type RawJsonText = { seq: number | string; json: string; named: number | string };
export type RawJsonRow = Omit<FeedJsonRow, "seq" | "named"> & RawJsonText;

export const jsonText = (r: RawJsonText): FeedJsonText => ({
  seq: Number(r.seq),
  json: r.json,
  named: Number(r.named) === 1,
});

export const jsonRow = (r: RawJsonRow): FeedJsonRow => ({ ...r, ...jsonText(r) });

/**
 * The columns of a `FeedJsonText` or, with `routing`, of a `FeedJsonRow` (a page of the pull
 * API reads no more than it sends: each column is a string per row to make).
 */
export function eventJsonColumns(dialect: Dialect, routing: boolean): string {
  const head = routing
    ? `seq, at, connector, kind,
    CASE WHEN kind = 'resource' OR operation = 'delete' THEN operation ELSE 'insert' END AS operation,
    COALESCE(CASE WHEN kind = 'resource' THEN entity_type ELSE association END, '') AS scope,`
    : "seq,";
  return `${head}
    ${eventJsonSql(dialect)} AS json,
    CASE WHEN kind = 'reference' AND association LIKE '@i%' THEN 0 ELSE 1 END AS named`;
}

export interface RawFeedRow {
  seq: number | string;
  at: string;
  batch_id: string;
  connector: string;
  mode: string;
  decision: string;
  kind: FeedRow["kind"];
  operation: FeedRow["operation"];
  entity_type: string | null;
  pk: string | null;
  uk1: string | null;
  uk2: string | null;
  uk3: string | null;
  properties: string | null;
  before_uk1: string | null;
  before_uk2: string | null;
  before_uk3: string | null;
  before_properties: string | null;
  association: string | null;
  key1: string | null;
  key2: string | null;
  end1_type: string | null;
  end2_type: string | null;
  end1_pk: string | null;
  end2_pk: string | null;
  mono_column: number | string | null;
  mono_end: number | string | null;
  cascaded: number | string;
}

export function feedRow(r: RawFeedRow): FeedRow {
  return {
    seq: Number(r.seq),
    at: r.at,
    batchId: r.batch_id,
    connector: r.connector,
    mode: r.mode,
    decision: r.decision,
    kind: r.kind,
    operation: r.operation,
    entityType: r.entity_type,
    pk: r.pk,
    uk: [r.uk1, r.uk2, r.uk3],
    properties: r.properties,
    beforeUk: [r.before_uk1, r.before_uk2, r.before_uk3],
    beforeProperties: r.before_properties,
    association: r.association,
    key1: r.key1,
    key2: r.key2,
    end1Type: r.end1_type,
    end2Type: r.end2_type,
    end1Pk: r.end1_pk,
    end2Pk: r.end2_pk,
    monoColumn: r.mono_column === null ? null : Number(r.mono_column),
    monoEnd: r.mono_end === null ? null : Number(r.mono_end),
    cascaded: Number(r.cascaded) === 1,
  };
}

/**
 * An event as its JSON text, written by the database (the pull API's pages, the sinks): the
 * contract's `ChangeEvent`, concatenated, its stored JSON (values, decision) put in as it is —
 * not parsed again, which costs more than the rest (`json_object` with `json(…)` twice the time
 * on SQLite, `json_build_object` ten times on PostgreSQL). Strings are quoted by the database
 * (`json_quote`, `to_json`). A reference journaled by column (association `@i<column>`) is named
 * by the reader, which knows the mapping.
 */
export function eventJsonSql(dialect: Dialect): string {
  const q = (text: string) =>
    dialect === "sqlite" ? `json_quote(${text})` : `COALESCE(CAST(to_json(${text}) AS TEXT), 'null')`;
  const name = (column: string) => q(`COALESCE(${column}, '')`);
  const values = (uk: string, properties: string) =>
    `CASE WHEN ${properties} IS NULL THEN 'null' ELSE '{"uniqueKeys":[' || ${q(`${uk}1`)} || ',' || ${q(`${uk}2`)} || ',' || ${q(`${uk}3`)} || '],"properties":' || ${properties} || '}' END`;
  const end = (n: number) =>
    `'{"entityType":' || ${name(`end${n}_type`)} || ',"key":' || ${name(`end${n}_pk`)} || '}'`;
  const base = `'{"id":"' || CAST(seq AS TEXT) || '","seq":' || CAST(seq AS TEXT) || ',"at":' || ${q("at")} || ',"batchId":' || ${q("batch_id")} || ',"connector":' || ${q("connector")} || ',"mode":' || ${q("mode")} || ',"decision":' || decision || ',"kind":' || ${q("kind")}`;
  const linkOperation = `',"operation":' || CASE WHEN operation = 'delete' THEN '"delete"' ELSE '"insert"' END`;
  const cascaded = `',"cascaded":' || CASE WHEN cascaded = 1 THEN 'true' ELSE 'false' END || '}'`;
  return `${base} || CASE kind
    WHEN 'resource' THEN ',"operation":' || ${q("operation")} || ',"entityType":' || ${name("entity_type")} || ',"key":' || ${name("pk")}
      || ',"before":' || ${values("before_uk", "before_properties")} || ',"after":' || ${values("uk", "properties")} || '}'
    WHEN 'link' THEN ${linkOperation} || ',"association":' || ${name("association")}
      || ',"keys":[' || ${name("key1")} || ',' || ${name("key2")} || '],"ends":[' || ${end(1)} || ',' || ${end(2)} || ']' || ${cascaded}
    ELSE ${linkOperation} || ',"association":' || ${name("association")} || ',"column":' || CAST(COALESCE(mono_column, 0) AS TEXT)
      || ',"holder":' || CASE WHEN mono_end = 2 THEN ${end(2)} ELSE ${end(1)} END
      || ',"target":' || CASE WHEN mono_end = 2 THEN ${end(1)} ELSE ${end(2)} END || ${cascaded}
  END`;
}
