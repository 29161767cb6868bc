/**
 * JSON Schemas of the routes the admin console reads and signs in with (sessions, the
 * connectors' overview, batch lists, resources, jobs, orphans): validated and serialized by
 * Fastify, and part of the OpenAPI document like every other route's (`schemas.ts`).
 */
import { ADMIN_ROLES } from "../protocol/api.js";
import { batchProperties, count, jobInstance, MODES, nullableString, STATES } from "./schemas.js";

export const sessionRequest = {
  type: "object",
  required: ["token"],
  additionalProperties: false,
  properties: {
    token: {
      type: "string",
      minLength: 3,
      maxLength: 1024,
      description: "`<admin name>:<token>`: an administrator of server.admins (or admin:<token>).",
    },
  },
} as const;

export const sessionView = {
  type: "object",
  required: ["id", "role", "csrfToken", "expiresAt"],
  properties: {
    id: { type: "string", description: "The administrator's name." },
    role: { type: "string", enum: [...ADMIN_ROLES] },
    csrfToken: {
      type: "string",
      description: "Send it in the x-csrf-token header with every change asked through the session cookie.",
    },
    expiresAt: {
      type: "string",
      format: "date-time",
      description: "When the session ends if it stays in use; sooner after server.sessionIdleMinutes unused.",
    },
  },
} as const;

const limit = (max: number) =>
  ({ type: "integer", minimum: 1, maximum: max, description: `Rows per page (at most ${max}).` }) as const;
const after = {
  type: "string",
  maxLength: 4096,
  description: "The `next` cursor of the previous page (keyset paging); absent for the first page.",
} as const;

export const batchListQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    connector: { type: "string" },
    state: { type: "string", enum: STATES },
    mode: { type: "string", enum: MODES },
    since: { type: "string", format: "date-time", description: "Created at or after (ISO 8601)." },
    until: { type: "string", format: "date-time", description: "Created before (ISO 8601)." },
    before: {
      type: "integer",
      minimum: 1,
      description:
        "Keyset paging: the `seq` of the last batch of the previous page (batches come newest first).",
    },
    limit: { type: "integer", minimum: 1, maximum: 1000 },
  },
} as const;

const { id, seq, mode, state, createdAt, finishedAt, counts, error } = batchProperties;
const batchSummary = {
  type: "object",
  properties: { id, seq, mode, state, createdAt, finishedAt, counts, error },
} as const;

const thresholdCheck = {
  type: "object",
  properties: {
    level: { type: "string", enum: ["connector", "entity-type", "association"] },
    scope: { type: "string" },
    threshold: { type: "string" },
    limit: { type: "number" },
    actual: { type: "number" },
    unit: { type: "string", enum: ["lines", "percent"] },
    crossed: { type: "boolean" },
    words: { type: "string", description: "The check in plain words, e.g. would delete 50 % of …" },
  },
} as const;

const nullableBatch = { anyOf: [batchSummary, { type: "null" }] } as const;

export const connectorOverviews = {
  type: "array",
  items: {
    type: "object",
    properties: {
      name: { type: "string" },
      state: { type: "string", enum: ["blocked", "failed", "running", "waiting", "applied", "never run"] },
      blocked: {
        anyOf: [
          {
            type: "object",
            properties: { batch: batchSummary, crossed: { type: "array", items: thresholdCheck } },
          },
          { type: "null" },
        ],
      },
      lastBatches: {
        type: "object",
        properties: { initial: nullableBatch, complete: nullableBatch, incremental: nullableBatch },
      },
      resources: {
        type: "array",
        items: { type: "object", properties: { entityType: { type: "string" }, count } },
      },
      orphans: {
        type: "array",
        items: { type: "object", properties: { association: { type: "string" }, count } },
      },
      pending: count,
      nextJob: {
        anyOf: [
          {
            type: "object",
            properties: {
              job: { type: "string" },
              mode: { type: "string", enum: MODES },
              at: { type: "string" },
            },
          },
          { type: "null" },
        ],
      },
    },
  },
} as const;

export const resourceQuery = {
  type: "object",
  required: ["connector"],
  additionalProperties: false,
  properties: {
    connector: { type: "string" },
    entityType: { type: "string" },
    keyPrefix: { type: "string", maxLength: 1024, description: "Primary keys starting with this." },
    uniqueKey: {
      type: "string",
      maxLength: 1024,
      description: "A unique key (any of the three) equal to this.",
    },
    property: { type: "string", description: "With value: resources whose property holds value (as text)." },
    value: { type: "string", maxLength: 4096 },
    after,
    limit: limit(500),
  },
} as const;

const resourceRef = {
  type: "object",
  properties: { id: { type: "integer" }, entityType: { type: "string" }, key: { type: "string" } },
} as const;

const resourceSummaryProperties = {
  id: { type: "integer" },
  connector: { type: "string" },
  entityType: { type: "string" },
  key: { type: "string", description: "The primary key." },
  uniqueKeys: { type: "array", items: nullableString },
} as const;

export const resourcePage = {
  type: "object",
  properties: {
    rows: { type: "array", items: { type: "object", properties: resourceSummaryProperties } },
    next: { ...nullableString, description: "The cursor of the next page; null on the last." },
  },
} as const;

export const resourceIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "integer", minimum: 1, description: "The resource's id in the repository." } },
} as const;

export const resourceDetail = {
  type: "object",
  properties: {
    ...resourceSummaryProperties,
    values: { type: "object", additionalProperties: true, description: "The resource's properties." },
    batchId: { type: "string", description: "The batch that last changed it." },
    createdBatchId: { type: "string" },
    links: {
      type: "array",
      description: "Multi-valued links, both directions (out: this resource is the association's first end).",
      items: {
        type: "object",
        properties: {
          association: { type: "string" },
          direction: { type: "string", enum: ["out", "in"] },
          property: nullableString,
          other: resourceRef,
        },
      },
    },
    linksTruncated: { type: "boolean" },
    references: {
      type: "array",
      items: { type: "object", properties: { property: { type: "string" }, target: resourceRef } },
    },
    referencedBy: {
      type: "array",
      items: { type: "object", properties: { property: { type: "string" }, source: resourceRef } },
    },
  },
} as const;

export const orphanQuery = {
  type: "object",
  required: ["connector"],
  additionalProperties: false,
  properties: { connector: { type: "string" }, association: { type: "string" }, after, limit: limit(500) },
} as const;

export const orphanPage = {
  type: "object",
  properties: {
    rows: {
      type: "array",
      items: {
        type: "object",
        properties: {
          association: { type: "string" },
          key1: { type: "string" },
          key2: { type: "string" },
          missing: { type: "string", enum: ["end1", "end2", "both", "conflict"] },
          missingKeys: { type: "array", items: { type: "string" } },
          batchId: { type: "string" },
        },
      },
    },
    next: nullableString,
  },
} as const;

export const jobViews = {
  type: "array",
  items: {
    type: "object",
    properties: {
      name: { type: "string" },
      connector: { type: "string" },
      mode: { type: "string", enum: MODES },
      schedule: nullableString,
      timeZone: { type: "string" },
      tasks: { type: "array", items: { type: "string" } },
      nextRun: nullableString,
      lastRun: { anyOf: [jobInstance, { type: "null" }] },
      agents: { type: "array", items: { type: "string" } },
    },
  },
} as const;

export const runNowAnswer = {
  type: "object",
  properties: {
    job: { type: "string" },
    state: { type: "string", enum: ["running", "finished"] },
    instance: { anyOf: [jobInstance, { type: "null" }] },
  },
} as const;
