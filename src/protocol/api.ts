/**
 * The agent/server HTTP protocol: paths, headers, bodies and the file-name rule, shared by the
 * server (`src/server/`) and the agent (`src/agent/`). Every body is JSON except a file upload,
 * which is the file's bytes. Every refusal is an `ApiError` body with a stable `code`.
 *
 * Authentication: `Authorization: Bearer <agentId>:<secret>` for an agent,
 * `Authorization: Bearer admin:<token>` for an administrator.
 *
 * A batch moves through these states:
 *
 * ```
 * notified ──upload, seal──▶ sealed ──▶ staging ──▶ applied | blocked | failed
 *    │                          │                              blocked ──▶ applied | cancelled | superseded
 *    └──────────────────────────┴──▶ cancelled (a complete notification, the agent abandons it, an admin)
 * ```
 */
import type { Mode } from "./mode.js";

export type { Mode } from "./mode.js";

export const API_PREFIX = "/api/v1";

export const PATHS = {
  health: "/health",
  ready: "/ready",
  metrics: "/metrics",
  openapi: "/openapi.json",
  docs: "/docs",
  batches: `${API_PREFIX}/batches`,
  batch: (id: string) => `${API_PREFIX}/batches/${encodeURIComponent(id)}`,
  file: (id: string, name: string) =>
    `${API_PREFIX}/batches/${encodeURIComponent(id)}/files/${encodeURIComponent(name)}`,
  seal: (id: string) => `${API_PREFIX}/batches/${encodeURIComponent(id)}/seal`,
  changes: (id: string) => `${API_PREFIX}/batches/${encodeURIComponent(id)}/changes`,
  validate: (id: string) => `${API_PREFIX}/batches/${encodeURIComponent(id)}/validate`,
  cancel: (id: string) => `${API_PREFIX}/batches/${encodeURIComponent(id)}/cancel`,
  connector: (name: string) => `${API_PREFIX}/connectors/${encodeURIComponent(name)}`,
  jobInstances: `${API_PREFIX}/job-instances`,
} as const;

/** The hex SHA-256 of an uploaded file's bytes; the server checks the body against it. */
export const SHA256_HEADER = "x-content-sha256";

/** Which the agent's id is in a bearer token: `<agentId>:<secret>`. */
export const ADMIN_PRINCIPAL = "admin";

/**
 * What an administrator may do: a viewer reads, an approver reads and decides (validate,
 * cancel, approve or reject changes, run a job now). `server.adminTokenHash` is an approver
 * named `admin`; `server.admins` names the others.
 */
export const ADMIN_ROLES = ["viewer", "approver"] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/**
 * File names a batch may hold: `prepare.json` and prepared files `<mapping>.sorted.csv` or
 * `<mapping>.sorted.delta`. No separator, no leading dot, nothing that could leave the
 * batch directory.
 */
export const FILE_NAME_PATTERN =
  /^(?:prepare\.json|[A-Za-z0-9_][A-Za-z0-9_-]{0,127}\.sorted\.(?:csv|delta))$/;

export type BatchState =
  /** Announced by an agent, whose files are being uploaded. */
  | "notified"
  /** Uploaded and sealed: waits for its turn to be synchronized. */
  | "sealed"
  /** Changes being staged (or a run that died while staging: see `failStale`). */
  | "staging"
  /** A threshold was crossed: staged changes wait for `validate` or `cancel`. */
  | "blocked"
  /** Applied; its staged changes stay as the journal. */
  | "applied"
  | "cancelled"
  /** A later complete synchronization replaced it. */
  | "superseded"
  | "failed"
  /** A dry run: staged, reported, discarded. */
  | "previewed";

/** Staged (or journaled) changes of one scope and operation. */
export interface StagedCount {
  /** Entity type or association. */
  scope: string;
  operation: string;
  n: number;
}

/** One staged (or journaled) change. */
/**
 * One staged (or journaled) change, as `GET /api/v1/batches/:id/changes` pages them: before
 * and after values side by side, the properties that differ, and the decision taken on it.
 */
export interface ChangeRow {
  /** `r<n>` for a resource change, `l<n>` for a link change: what a decision names. */
  id: string;
  kind: "resource" | "link";
  operation: string;
  /** The resource's entity type (a resource change). */
  entityType: string | null;
  /** The association (a link change; `@i<column>` for a mono-valued reference an apply took along). */
  association: string | null;
  /** The resource's primary key, or the link's first key. */
  key: string;
  /** The link's second key. */
  key2: string | null;
  /** The resource's values before the change (updates, deletes). */
  before: Record<string, unknown> | null;
  /** The resource's values after the change (inserts, updates). */
  after: Record<string, unknown> | null;
  /** The properties whose values differ between before and after. */
  changed: string[];
  /** A link's ends: entity types and primary keys (null where not known yet). */
  link: {
    end1Type: string;
    end1Key: string | null;
    end2Type: string;
    end2Key: string | null;
    cascaded: boolean;
  } | null;
  decision: "approved" | "rejected" | null;
  /** The line of the prepared file it came from. */
  line: number | null;
}

/** A decision on part of a batch: `approved` or `rejected`; null is no decision. */
export type Decision = "approved" | "rejected";

/** Which changes of a batch a decision or a page is about. Every field narrows; none is all. */
export interface ChangeSelection {
  /** Change ids as `ChangeRow.id` gives them: `r<n>` (a resource change), `l<n>` (a link change). */
  readonly ids?: readonly string[];
  readonly kind?: "resource" | "link";
  readonly operation?: string;
  readonly entityType?: string;
  readonly association?: string;
  /** Changes whose key (a resource's primary key, a link's first key) starts with it. */
  readonly keyPrefix?: string;
  /** Changes of these primary keys (resources) or first keys (links). */
  readonly keys?: readonly string[];
  /** Resource updates that change this property. */
  readonly property?: string;
  readonly decision?: Decision | "undecided";
}

/** `GET /api/v1/batches/:id/changes`: a selection (ids and keys aside), a cursor and a page size. */
export interface ChangePageQuery extends Omit<ChangeSelection, "ids" | "keys"> {
  /** The cursor a previous page gave as `next`. */
  readonly after?: string;
  readonly limit: number;
}

/** `POST /api/v1/batches/:id/decisions`: the changes the selection matched, and the batch's tally. */
export interface DecisionOutcome {
  readonly matched: number;
  readonly approved: number;
  readonly rejected: number;
  readonly undecided: number;
}

/** `GET /api/v1/resources/:id/history`: one applied change of a resource or of its links. */
export interface HistoryEntry {
  readonly batchId: string;
  /** The batch's number: batches apply in this order. */
  readonly seq: number;
  readonly mode: string;
  readonly finishedAt: string | null;
  /** The batch is an undo of this one. */
  readonly undoOf: string | null;
  /** Who decided on the batch (empty: applied as its run staged it, within its thresholds or forced). */
  readonly decidedBy: readonly string[];
  readonly change: ChangeRow;
}

/** A page of changes; `next` is the cursor of the next page (null on the last). */
export interface ChangePage {
  readonly rows: readonly ChangeRow[];
  readonly next: string | null;
  /** How many changes match, given on the first page (a request without `after`). */
  readonly total: number | null;
  /** False when `total` is a lower bound: the filters were counted up to a cap (10,000). */
  readonly totalExact: boolean;
}

/** Batches that will never change again. */
export const FINAL_STATES: readonly BatchState[] = ["applied", "failed", "cancelled", "superseded"];

/** `POST /api/v1/batches` */
export interface NotifyRequest {
  /**
   * The batch GUID, chosen by the agent, so that a notification can be retried safely: the
   * same id with the same connector, mode and base answers the batch already made (200).
   */
  readonly id?: string;
  readonly connector: string;
  readonly mode: Mode;
  /** Incremental: the batch `previous/` came from (`previous/manifest.json`'s `batch`); else null. */
  readonly baseBatch: string | null;
  /**
   * A preview: the batch is staged and reported, nothing is applied; it ends `previewed`, its
   * changes kept for review (and a decision) like a blocked batch's. The agent's `previous/`
   * does not move.
   */
  readonly dryRun?: boolean;
}

/** `201` answer to a notification (`200` to its retry). */
export interface NotifyResponse {
  readonly id: string;
  readonly seq: number;
  readonly connector: string;
  readonly mode: Mode;
  /** `notified`; a retried notification answers the batch's state now. */
  readonly state: BatchState;
  /** Earlier unapplied incremental batches this complete notification cancelled. */
  readonly cancelled: readonly string[];
}

/** A file the server holds for a batch. */
export interface BatchFile {
  readonly name: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** `PUT /api/v1/batches/:id/files/:name` answers `201` (stored) or `200` (the same file was already there). */
export type UploadResponse = BatchFile;

/** `POST /api/v1/batches/:id/seal` */
export interface SealRequest {
  readonly files: readonly Pick<BatchFile, "name" | "sha256">[];
}

/** A batch as the API shows it (`GET /api/v1/batches/:id`, the seal's answer). */
export interface BatchView {
  readonly id: string;
  readonly seq: number;
  readonly connector: string;
  readonly mode: Mode;
  readonly state: BatchState;
  readonly agent: string | null;
  readonly baseBatch: string | null;
  readonly createdAt: string;
  readonly sealedAt: string | null;
  readonly finishedAt: string | null;
  readonly counts: {
    readonly resourcesInserted: number;
    readonly resourcesUpdated: number;
    readonly resourcesDeleted: number;
    readonly linksInserted: number;
    readonly linksDeleted: number;
    readonly orphans: number;
  };
  readonly error: string | null;
  readonly files: readonly BatchFile[];
  /** The synchronization report once staged (`GET /batches/:id` only). */
  readonly report?: unknown;
  /** An undo batch: the batch it reverses. */
  readonly undoOf?: string | null;
  /** Applied in part: a decision rejected some of its changes. */
  readonly partial?: boolean;
  /** A decided batch: how many changes were approved and rejected. */
  readonly approved?: number | null;
  readonly rejected?: number | null;
  /** A kept preview: when its staged changes are discarded. */
  readonly expiresAt?: string | null;
}

/** One entry of a batch's decision journal: who decided what, when, on how many changes. */
export interface DecisionView {
  readonly principal: string;
  readonly role: string;
  readonly at: string;
  /** approve, reject, apply, validate, cancel, undo. */
  readonly action: string;
  readonly changes: number;
  /** The selection decided on (ids, filters), as given. */
  readonly selection: unknown;
  readonly note: string | null;
}

/** `GET /api/v1/batches/:id`: the batch, its report, its changes per scope and operation, its decisions. */
export interface BatchDetail extends BatchView {
  readonly changes: { readonly resources: readonly StagedCount[]; readonly links: readonly StagedCount[] };
  readonly decisions?: readonly DecisionView[];
}

/** `GET /api/v1/connectors/:name` */
export interface ConnectorStatus {
  readonly connector: string;
  /** The last batch an incremental may be based on: the newest sealed, staging, blocked or applied one. */
  readonly lastAccepted: string | null;
  readonly lastApplied: string | null;
  /** The batch that blocks the connector's incrementals, if any. */
  readonly blocked: string | null;
  /** Batches notified or sealed and not yet synchronized. */
  readonly pending: number;
}

export type TaskName = "export" | "prepare" | "upload" | "synchronize";

/** One task of a job instance. */
export interface TaskOutcome {
  readonly task: TaskName;
  readonly outcome: "succeeded" | "failed" | "skipped";
  readonly startedAt: string;
  readonly seconds: number;
  /** Rows, files, changes: what the task counted. */
  readonly counts: Readonly<Record<string, number>>;
  readonly message: string | null;
}

/** One run of a job (`POST` and `GET /api/v1/job-instances`). */
export interface JobInstance {
  readonly id: string;
  readonly job: string;
  readonly connector: string;
  /** The job's configured mode. */
  readonly mode: Mode;
  /** The mode that ran: a refused incremental falls back to complete. */
  readonly ranMode: Mode;
  readonly agent: string | null;
  readonly outcome: "succeeded" | "failed" | "waiting" | "blocked";
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly batchId: string | null;
  readonly tasks: readonly TaskOutcome[];
  /** Why it failed, waited or fell back. */
  readonly message: string | null;
}

/** The body of every refusal (4xx) and failure (5xx). */
export interface ApiError {
  readonly statusCode: number;
  /** A stable code: a `SyncupError` code or one of the protocol's (`UNAUTHORIZED`, …). */
  readonly code: string;
  readonly message: string;
}
