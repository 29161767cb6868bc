/**
 * JSON Schemas of the review API (changes before → after, decisions, apply, undo): they
 * validate requests, shape responses and document them in the OpenAPI document.
 */
const nullableString = { type: ["string", "null"] } as const;
const count = { type: "integer", minimum: 0 } as const;
const key = { type: "string", minLength: 1, maxLength: 1024 } as const;

const selectionProperties = {
  kind: { type: "string", enum: ["resource", "link"] },
  operation: { type: "string", enum: ["insert", "update", "delete"] },
  entityType: { type: "string", minLength: 1, maxLength: 200 },
  association: { type: "string", minLength: 1, maxLength: 200 },
  keyPrefix: { type: "string", minLength: 1, maxLength: 1024, description: "Keys that start with it." },
  property: {
    type: "string",
    pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
    description: "Resource updates that change this property.",
  },
  decision: { type: "string", enum: ["approved", "rejected", "undecided"] },
} as const;

export const changesQuery = {
  type: "object",
  properties: {
    ...selectionProperties,
    after: { type: "string", maxLength: 2000, description: "The `next` cursor of the previous page." },
    limit: { type: "integer", minimum: 1, maximum: 1000 },
  },
  additionalProperties: false,
} as const;

const values = { type: ["object", "null"], additionalProperties: true } as const;

export const changesPage = {
  type: "object",
  properties: {
    next: { ...nullableString, description: "The cursor of the next page; null on the last." },
    total: { type: ["integer", "null"], description: "Matching changes (first page only)." },
    totalExact: { type: "boolean", description: "False when total is a lower bound (counted up to 10,000)." },
    rows: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string", description: "r<n> (resource change) or l<n> (link change)." },
          kind: { type: "string", enum: ["resource", "link"] },
          operation: { type: "string" },
          entityType: nullableString,
          association: nullableString,
          key: { type: "string" },
          key2: nullableString,
          before: values,
          after: values,
          changed: { type: "array", items: { type: "string" } },
          link: {
            type: ["object", "null"],
            properties: {
              end1Type: { type: "string" },
              end1Key: nullableString,
              end2Type: { type: "string" },
              end2Key: nullableString,
              cascaded: { type: "boolean" },
            },
          },
          decision: { type: ["string", "null"], enum: ["approved", "rejected", null] },
          line: { type: ["integer", "null"] },
        },
      },
    },
  },
} as const;

export const decisionBody = {
  type: "object",
  required: ["decision"],
  additionalProperties: false,
  properties: {
    decision: { type: "string", enum: ["approve", "reject"] },
    ids: { type: "array", items: { type: "string", pattern: "^[rl][1-9][0-9]{0,15}$" }, maxItems: 100000 },
    filter: {
      type: "object",
      additionalProperties: false,
      properties: {
        ...selectionProperties,
        keys: {
          type: "array",
          items: key,
          maxItems: 100000,
          description: "Primary keys (or links' first keys).",
        },
      },
    },
  },
} as const;

export const decisionOutcome = {
  type: "object",
  properties: { matched: count, approved: count, rejected: count, undecided: count },
} as const;

export const applyBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    rest: {
      type: "string",
      enum: ["approve", "reject"],
      description: "What the changes without a decision become (needed when some were decided and some not).",
    },
  },
} as const;

export const undoBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    force: {
      type: "boolean",
      description: "Undo even when later batches changed the same resources or links.",
    },
  },
} as const;

export const historyQuery = {
  type: "object",
  required: ["connector", "key"],
  additionalProperties: false,
  properties: { connector: { type: "string", minLength: 1, maxLength: 200 }, key },
} as const;

export const history = {
  type: "array",
  items: {
    type: "object",
    properties: {
      batchId: { type: "string" },
      seq: { type: "integer" },
      mode: { type: "string" },
      finishedAt: nullableString,
      undoOf: nullableString,
      decidedBy: { type: "array", items: { type: "string" }, description: "Empty: applied as staged." },
      change: changesPage.properties.rows.items,
    },
  },
} as const;
