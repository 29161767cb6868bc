/** Plain data that crosses the store's interface. Column names are snake_case in SQL, camelCase here. */
import type { BatchState, Mode } from "../protocol/api.js";

/** What the API shows of batches and their changes is the protocol's; the store reads and writes it. */
export type { BatchState, ChangeRow, StagedCount } from "../protocol/api.js";

export interface ChangeCounts {
  resourcesInserted: number;
  resourcesUpdated: number;
  resourcesDeleted: number;
  linksInserted: number;
  linksDeleted: number;
  orphans: number;
}

export interface BatchRow extends ChangeCounts {
  id: string;
  seq: number;
  connector: string;
  mode: Mode;
  state: BatchState;
  dryRun: boolean;
  forced: boolean;
  source: string | null;
  preparedAt: string | null;
  baseBatch: string | null;
  createdAt: string;
  finishedAt: string | null;
  /** The agent that notified the batch; null for a local synchronization. */
  agent: string | null;
  sealedAt: string | null;
  /** The synchronization report, JSON. */
  report: unknown;
  error: string | null;
  /** An undo batch: the batch it reverses. */
  undoOf: string | null;
  /** Applied in part: a decision rejected some of its changes. */
  partial: boolean;
  /** A decided batch: how many changes were approved and rejected (null: no decision). */
  approved: number | null;
  rejected: number | null;
  /** A kept preview: when its staged changes are discarded. */
  expiresAt: string | null;
}

/** A file uploaded into a batch. */
export interface BatchFileRow {
  name: string;
  sha256: string;
  bytes: number;
}

/** The column of UR_Resources through which an association end resolves. */
export type KeyColumn = "pk" | "uk1" | "uk2" | "uk3";

export const MONO_COLUMNS = [128, 129, 130, 131, 132, 133, 134, 135, 136, 137] as const;

/** What the store needs to know of an association mapping. */
export interface LinkScope {
  readonly association: string;
  readonly end1Type: string;
  readonly end2Type: string;
  readonly key1Column: KeyColumn;
  readonly key2Column: KeyColumn;
  /** For a mono-valued association: the UR_Resources column (128–137) and the end whose resource holds it. */
  readonly mono: { readonly column: number; readonly end: 1 | 2 } | null;
}

/** A resource as complete synchronization compares it. */
export interface StoredResourceHead {
  id: number;
  pk: string;
  uk1: string | null;
  uk2: string | null;
  uk3: string | null;
  hash: string;
}

/**
 * A resource as complete synchronization streams it: its key and the hash of the cells it came
 * from, which settle most rows; the rest of its head is read for the rows that differ.
 */
export interface ComparedResourceHead {
  id: number;
  pk: string;
  /** See `ResourceTranslator.sourceHashOf`; null where unknown. */
  sourceHash: string | null;
}

export interface StoredResource extends StoredResourceHead {
  /** JSON text of the scalar values. */
  properties: string;
}

/** A stored link (or mono-valued reference) as complete synchronization compares it. */
export interface StoredLink {
  key1: string;
  key2: string;
  resource1: number;
  resource2: number;
  /** 1 when an end is deleted or re-keyed by the batch being staged: the link must be resolved again. */
  stale: number;
}

/** A resource found through one of its keys, in the repository as it will be once the batch is applied. */
export interface ResolvedEnd {
  /** The key value looked up. */
  k: string;
  /** Null when the resource is inserted by the batch. */
  id: number | null;
  pk: string;
}

export type ResourceOperation = "insert" | "update" | "delete";
export type LinkOperation = "insert" | "delete";

export interface StagedResource {
  operation: ResourceOperation;
  entityType: string;
  pk: string;
  uks: readonly [string | null, string | null, string | null];
  hash: string | null;
  properties: string | null;
  sourceHash: string | null;
  resourceId: number | null;
  /** A delete, or an update that changes a unique key: links through this resource are resolved again. */
  relinks: boolean;
  line: number | null;
  /**
   * What the repository holds of the resource an update or delete changes, when the stage read
   * it (incremental); otherwise captured after staging (`JournalRepository.captureBefore`).
   */
  before?: ResourceImage;
}

/** A stored resource's values, as a change's before-image records them. */
export interface ResourceImage {
  uks: readonly [string | null, string | null, string | null];
  hash: string;
  properties: string;
  sourceHash: string | null;
}

/** A stored resource with its source hash (`ResourceRepository.findByPks`). */
export interface HeldResource extends StoredResource {
  source_hash: string | null;
}

export interface StagedLink {
  operation: LinkOperation;
  scope: LinkScope;
  key1: string;
  key2: string;
  resource1Pk: string | null;
  resource2Pk: string | null;
  resource1Id: number | null;
  resource2Id: number | null;
  line: number | null;
}

/**
 * A mono-valued link that another link of the same resource (the holder) shadows: of the
 * links a holder has in the file, the first in file order wins.
 */
export interface MonoConflict {
  /** The staged insert to drop; null for a stored link, which must be removed. */
  id: number | null;
  line: number | null;
  key1: string;
  key2: string;
  /** The stored link's ends (null for a staged insert). */
  resource1: number | null;
  resource2: number | null;
  /** The link that wins. */
  winner1: string;
  winner2: string;
}

export interface ResourceRow extends StoredResource {
  connector: string;
  entityType: string;
  batchId: string;
  createdBatchId: string;
  /** Mono-valued references, by column index. */
  mono: Record<number, number>;
}

export interface LinkRow {
  association: string;
  key1: string;
  key2: string;
  resource1: number;
  resource2: number;
}
