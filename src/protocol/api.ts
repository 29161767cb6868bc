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
export interface ChangeRow {
  kind: "resource" | "link";
  operation: string;
  /** Entity type or association. */
  scope: string;
  key: string;
  key2: string | null;
  properties: string | null;
  line: number | null;
}

/** Batches that will never change again. */
export const FINAL_STATES: readonly BatchState[] = [
  "applied",
  "failed",
  "cancelled",
  "superseded",
  "previewed",
];

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
}

/** `GET /api/v1/batches/:id`: the batch, its report, and its changes per scope and operation. */
export interface BatchDetail extends BatchView {
  readonly changes: { readonly resources: readonly StagedCount[]; readonly links: readonly StagedCount[] };
}

/** `GET /api/v1/batches/:id/changes`: a page of staged (or journaled) changes. */
export interface ChangesPage {
  readonly rows: readonly ChangeRow[];
  readonly total: number;
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
