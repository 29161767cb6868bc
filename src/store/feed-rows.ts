/** An event of the change feed as `UR_ChangeEvents` holds it, and as the store hands it out. */

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
