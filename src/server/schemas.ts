/**
 * JSON Schemas of the API's bodies, parameters and answers: Fastify validates requests and
 * serializes answers with them, and the OpenAPI document (`/openapi.json`) is built from them.
 * The TypeScript shapes are in `src/protocol/api.ts`.
 */
import type { NotifyRequest, SealRequest } from "../protocol/api.js";

export type NotifyBody = NotifyRequest;
export type SealBody = SealRequest;

export const MODES = ["initial", "complete", "incremental"];
export const STATES = [
  "notified",
  "sealed",
  "staging",
  "applied",
  "blocked",
  "failed",
  "cancelled",
  "superseded",
  "previewed",
];
export const nullableString = { type: ["string", "null"] } as const;
const sha256 = { type: "string", pattern: "^[0-9a-fA-F]{64}$" } as const;
export const count = { type: "integer", minimum: 0 } as const;

export const apiError = {
  type: "object",
  required: ["statusCode", "code", "message"],
  properties: {
    statusCode: { type: "integer" },
    code: {
      type: "string",
      description:
        "Stable error code of syncup's catalogue (src/errors.ts): REQUEST_INVALID, UNAUTHORIZED, RATE_LIMITED, BASE_MISMATCH, …",
    },
    message: { type: "string", description: "What is wrong and what to do." },
  },
} as const;

/**
 * The error answers of an API route, by status: `statuses`, and those every route may give —
 * a request its schema refuses (400 REQUEST_INVALID), no or a wrong bearer token (401), too many
 * failed authentications (429 RATE_LIMITED, with Retry-After).
 */
export function errors(...statuses: number[]): Record<number, typeof apiError> {
  const all = [...new Set([400, 401, 429, ...statuses])].sort((a, b) => a - b);
  return Object.fromEntries(all.map((s) => [s, apiError]));
}

export const health = {
  type: "object",
  properties: { status: { type: "string" }, database: { type: "string" } },
} as const;

export const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", description: "Batch GUID." } },
} as const;

export const nameParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", description: "Connector name." } },
} as const;

export const fileParams = {
  type: "object",
  required: ["id", "name"],
  properties: {
    id: { type: "string" },
    name: {
      type: "string",
      description:
        "prepare.json, or <mapping>.sorted.csv / <mapping>.sorted.delta of the connector's mappings.",
    },
  },
} as const;

export const uploadHeaders = {
  type: "object",
  required: ["x-content-sha256"],
  properties: { "x-content-sha256": { ...sha256, description: "SHA-256 of the body, hex." } },
} as const;

export const notifyRequest = {
  type: "object",
  required: ["connector", "mode", "baseBatch"],
  additionalProperties: false,
  properties: {
    id: {
      type: "string",
      pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
      description:
        "The batch GUID chosen by the agent (lowercase UUID): a retried notification answers the same batch.",
    },
    connector: { type: "string", minLength: 1 },
    mode: { type: "string", enum: MODES },
    baseBatch: { ...nullableString, description: "Incremental: the batch previous/ came from." },
    dryRun: {
      type: "boolean",
      description:
        "A preview: staged and reported, nothing applied; the batch ends previewed, its changes kept for review.",
    },
  },
} as const;

export const notifyResponse = {
  type: "object",
  properties: {
    id: { type: "string" },
    seq: { type: "integer" },
    connector: { type: "string" },
    mode: { type: "string", enum: MODES },
    state: { type: "string", enum: STATES },
    cancelled: { type: "array", items: { type: "string" } },
  },
} as const;

export const batchFile = {
  type: "object",
  properties: { name: { type: "string" }, sha256: { type: "string" }, bytes: count },
} as const;

export const sealRequest = {
  type: "object",
  required: ["files"],
  additionalProperties: false,
  properties: {
    files: {
      type: "array",
      minItems: 1,
      maxItems: 1000,
      items: {
        type: "object",
        required: ["name", "sha256"],
        additionalProperties: false,
        properties: { name: { type: "string" }, sha256 },
      },
    },
  },
} as const;

export const batchProperties = {
  id: { type: "string" },
  seq: { type: "integer" },
  connector: { type: "string" },
  mode: { type: "string", enum: MODES },
  state: { type: "string", enum: STATES },
  agent: nullableString,
  baseBatch: nullableString,
  createdAt: { type: "string" },
  sealedAt: nullableString,
  finishedAt: nullableString,
  counts: {
    type: "object",
    properties: {
      resourcesInserted: count,
      resourcesUpdated: count,
      resourcesDeleted: count,
      linksInserted: count,
      linksDeleted: count,
      orphans: count,
    },
  },
  error: nullableString,
  files: { type: "array", items: batchFile },
  undoOf: { ...nullableString, description: "An undo batch: the batch it reverses." },
  partial: { type: "boolean", description: "Applied in part: a decision rejected some of its changes." },
  approved: { type: ["integer", "null"], description: "A decided batch: the changes approved." },
  rejected: { type: ["integer", "null"], description: "A decided batch: the changes rejected." },
  expiresAt: { ...nullableString, description: "A kept preview: when its staged changes are discarded." },
} as const;

export const batchView = { type: "object", properties: batchProperties } as const;

const stagedCount = {
  type: "object",
  properties: { scope: { type: "string" }, operation: { type: "string" }, n: count },
} as const;

export const batchDetail = {
  type: "object",
  properties: {
    ...batchProperties,
    report: {
      description: "The synchronization report (thresholds checked and crossed, counts per mapping).",
    },
    changes: {
      type: "object",
      description:
        "Staged (or, once applied, journaled) changes per entity type / association and operation.",
      properties: {
        resources: { type: "array", items: stagedCount },
        links: { type: "array", items: stagedCount },
      },
    },
    decisions: {
      type: "array",
      description: "The decision journal: who decided what, when, on how many changes.",
      items: {
        type: "object",
        properties: {
          principal: { type: "string" },
          role: { type: "string" },
          at: { type: "string" },
          action: {
            type: "string",
            enum: ["approve", "reject", "apply", "validate", "cancel", "undo", "sign-off"],
          },
          changes: count,
          selection: {},
          note: nullableString,
        },
      },
    },
  },
} as const;

export const anyObject = { type: "object", additionalProperties: true } as const;

export const connectorStatus = {
  type: "object",
  properties: {
    connector: { type: "string" },
    lastAccepted: nullableString,
    lastApplied: nullableString,
    blocked: nullableString,
    pending: count,
  },
} as const;

const taskOutcome = {
  type: "object",
  required: ["task", "outcome", "startedAt", "seconds", "counts", "message"],
  properties: {
    task: { type: "string", enum: ["export", "prepare", "upload", "synchronize"] },
    outcome: { type: "string", enum: ["succeeded", "failed", "skipped"] },
    startedAt: { type: "string" },
    seconds: { type: "number", minimum: 0 },
    counts: { type: "object", additionalProperties: { type: "number" } },
    message: nullableString,
  },
} as const;

export const jobInstance = {
  type: "object",
  required: ["id", "job", "connector", "mode", "ranMode", "outcome", "startedAt", "finishedAt", "tasks"],
  properties: {
    id: { type: "string", minLength: 1, maxLength: 100 },
    job: { type: "string", minLength: 1 },
    connector: { type: "string", minLength: 1 },
    mode: { type: "string", enum: MODES },
    ranMode: { type: "string", enum: MODES },
    agent: nullableString,
    outcome: { type: "string", enum: ["succeeded", "failed", "waiting", "blocked"] },
    startedAt: { type: "string" },
    finishedAt: { type: "string" },
    batchId: nullableString,
    tasks: { type: "array", maxItems: 20, items: taskOutcome },
    message: nullableString,
  },
} as const;

export const jobQuery = {
  type: "object",
  properties: {
    job: { type: "string" },
    before: { type: "string", maxLength: 100, description: "The id of the previous page's last run." },
    limit: { type: "integer", minimum: 1, maximum: 1000 },
  },
} as const;
