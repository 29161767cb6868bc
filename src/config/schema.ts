/**
 * The shape of `syncup.yaml`, as zod schemas. Unknown keys are errors everywhere (`strictObject`).
 * Cross-references (a mapping's columns, an association's ends) are checked in `validate.ts`.
 */
import { z } from "zod";
import { checkSecretSources, NATIVE_CONNECTION_SCHEMAS } from "../connectors/schemas.js";
import { changeFeedSchema } from "./change-feed-schema.js";
import { SCALAR_TYPES } from "../core/convert.js";
import { THRESHOLD_NAMES, type ThresholdName } from "../core/thresholds.js";
import { ADMIN_ROLES } from "../protocol/api.js";

/** The threshold names are core's (`core/thresholds.ts`); `resolve-mappings.ts` reads this one from here. */
export type { ThresholdName } from "../core/thresholds.js";

const name = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "use letters, digits, '_' and '-', starting with a letter");

/** Connector-level defaults, as in the reference product; 0 switches a threshold off. */
export const CONNECTOR_THRESHOLD_DEFAULTS: Readonly<Record<ThresholdName, number>> = Object.freeze({
  MaximumInsertedLines: 100,
  MaximumUpdatedLines: 100,
  MaximumDeletedLines: 100,
  MaximumLinkInsertedLines: 1000,
  MaximumLinkDeletedLines: 1000,
  MaxPercentageInsertedLines: 5,
  MaxPercentageUpdatedLines: 5,
  MaxPercentageDeletedLines: 5,
  MaxLinkPercentageInsertedLines: 5,
  MaxLinkPercentageDeletedLines: 5,
});

const thresholds = z
  .strictObject(
    Object.fromEntries(
      THRESHOLD_NAMES.map((n) => [
        n,
        n.startsWith("Max") && n.includes("Percentage")
          ? z.number().min(0).max(100).optional()
          : z.number().int().min(0).optional(),
      ]),
    ) as Record<ThresholdName, z.ZodOptional<z.ZodNumber>>,
  )
  .describe("Safeguards: counts of lines and percentages of what the repository holds; 0 = off.");

const scalarProperty = z.strictObject({
  type: z.enum(SCALAR_TYPES),
  multiValued: z.boolean().optional().describe("Several values in one cell, separated by `separator`."),
});

const navigationProperty = z.strictObject({
  type: z.literal("navigation"),
  target: name.describe("The entity type this property points to."),
  targetColumnIndex: z
    .number()
    .int()
    .min(-1)
    .max(137)
    .optional()
    .describe(
      "128–137: mono-valued, stored in UR_Resources; empty, -1 or 0–127: multi-valued, in UR_ResourceLinks.",
    ),
});

const property = z.union([scalarProperty, navigationProperty]);

const entityType = z.strictObject({
  properties: z.record(name, property),
});

const association = z.strictObject({
  property1: z.string().describe("`EntityType.navigationProperty` of the first end."),
  property2: z.string().describe("`EntityType.navigationProperty` of the second end."),
});

/**
 * The longest timeout a Node timer can wait (2^31 - 1 ms, about 24.8 days), in seconds: beyond
 * it Node fires the timer after 1 ms instead, so a larger timeout would cut a command short.
 */
const MAX_TIMER_SECONDS = 2_147_483;

export const CSV_ENCODINGS = ["utf-8", "utf-16", "utf-16le", "utf-16be", "latin1", "windows-1252"] as const;

const csvFormat = {
  encoding: z.enum(CSV_ENCODINGS).optional(),
  separator: z.string().length(1).optional(),
  quote: z.string().length(1).optional(),
  skipLines: z.number().int().min(0).optional().describe("Lines skipped before the header line."),
  trim: z.string().optional().describe("Characters trimmed from both ends of unquoted fields."),
};

const csvTable = z.strictObject({
  file: z.string().describe("Regular expression matched against file names; the newest matching file wins."),
  ...csvFormat,
});

const csvConnection = z.strictObject({
  type: z.literal("csv"),
  path: z.string().describe("Folder holding the complete (and initial) exports."),
  incrementalPath: z.string().optional().describe("Folder holding incremental exports; default `path`."),
  ...csvFormat,
  tables: z.record(name, csvTable),
});

const commandConnection = z.strictObject({
  type: z.literal("command"),
  command: z
    .array(z.string())
    .min(1)
    .describe(
      "Program and arguments (no shell). It writes `<connection>_<table>.csv` into $SYNCUP_OUTPUT_DIR.",
    ),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  timeoutSeconds: z.number().int().positive().max(MAX_TIMER_SECONDS).optional(),
  ...csvFormat,
  tables: z.record(name, z.strictObject({ ...csvFormat })),
});

const connection = z.discriminatedUnion("type", [
  csvConnection,
  commandConnection,
  ...NATIVE_CONNECTION_SCHEMAS,
]);

const propertyMapping = z.union([
  z.string(),
  z.strictObject({
    column: z.string(),
    format: z
      .string()
      .optional()
      .describe(
        "How the column is written: for date-time a pattern such as `yyyyMMddHHmmss` or `iso`; for binary `base64` or `hex`; for bool `true/false` pairs such as `1/0`.",
      ),
    separator: z
      .string()
      .optional()
      .describe("For multi-valued properties: the value separator (default `|`)."),
  }),
]);

const entityTypeMapping = z.strictObject({
  table: z.string().describe("The connection table, `<connection>_<table>`."),
  primaryKey: z.string().describe("The column that identifies a resource."),
  uniqueKeys: z.array(z.string()).max(3).optional().describe("Up to three further identifying columns."),
  properties: z.record(name, propertyMapping).optional(),
  thresholds: thresholds.optional(),
});

const entityAssociationMapping = z.strictObject({
  table: z.string().describe("The connection table, `<connection>_<table>`."),
  column1: z.string(),
  key1: z
    .string()
    .optional()
    .describe(
      "Column of the first end's entity type mapping (its primary key or a unique key); default its primary key.",
    ),
  column2: z.string(),
  key2: z.string().optional(),
  thresholds: thresholds.optional(),
});

const review = z
  .strictObject({
    approvers: z
      .union([z.literal(1), z.literal(2)])
      .optional()
      .describe(
        "How many different approvers a blocked or previewed batch of the connector needs before it is applied (2: the four-eyes rule); default 1.",
      ),
    previewHours: z
      .number()
      .positive()
      .max(24 * 365)
      .optional()
      .describe("How long a dry run's staged changes are kept for review; default 24."),
  })
  .describe("Review and decision on the connector's batches.");

const connector = z.strictObject({
  connections: z.record(name, connection),
  entityTypeMappings: z.record(name, entityTypeMapping).optional(),
  entityAssociationMappings: z.record(name, entityAssociationMapping).optional(),
  thresholds: thresholds.optional(),
  review: review.optional(),
});

export const JOB_TASKS = ["export", "prepare", "synchronize"] as const;

const job = z.strictObject({
  connector: name,
  mode: z.enum(["initial", "complete", "incremental"]),
  schedule: z.string().optional().describe("Cron expression (5 or 6 fields)."),
  timeZone: z.string().optional().describe("IANA time zone of the schedule; default UTC."),
  tasks: z.array(z.enum(JOB_TASKS)).min(1).optional(),
});

export const ON_DRIFT = ["complete", "stop"] as const;

const serverAgent = z.strictObject({
  secretHash: z
    .string()
    .describe("The hash of the agent's secret, as `syncup secret hash` prints it; never the secret."),
  connectors: z.array(name).min(1).describe("The connectors this agent may send batches for."),
});

const serverAdmin = z.strictObject({
  tokenHash: z
    .string()
    .describe("The hash of the administrator's token, as `syncup secret hash` prints it; never the token."),
  role: z
    .enum(ADMIN_ROLES)
    .describe(
      "viewer: reads batches, changes, resources and jobs; approver: also decides (validate, cancel, approve, reject, run now).",
    ),
});

const server = z.strictObject({
  host: z.string().optional().describe("Address to listen on; default 127.0.0.1."),
  port: z.number().int().min(0).max(65535).optional().describe("Port to listen on; default 8080."),
  batchDir: z.string().optional().describe("Where uploaded batches are kept; default `<workDir>/batches`."),
  adminTokenHash: z
    .string()
    .optional()
    .describe(
      "The hash of the administrator token (`syncup secret hash`); without it, admin operations are refused.",
    ),
  maxFileMiB: z.number().int().min(1).optional().describe("Largest file an agent may upload; default 4096."),
  sessionMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .optional()
    .describe("How long a console session lasts after sign-in, however busy; default 480 (8 hours)."),
  sessionIdleMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .optional()
    .describe("A console session unused for this long ends; default 60."),
  uploadTimeoutMinutes: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("A notified batch not sealed within this time is cancelled; default 60."),
  rateLimit: z
    .strictObject({
      failedAuthentications: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe(
          "Failed secret checks allowed per client address, and per agent id, within windowSeconds; beyond, 429 until the window ends. Default 10.",
        ),
      windowSeconds: z.number().int().min(1).max(86400).optional().describe("Default 60."),
    })
    .optional(),
  agents: z.record(name, serverAgent).optional(),
  admins: z
    .record(name, serverAdmin)
    .optional()
    .describe(
      "Named administrators, each signing in with `<name>:<token>`; a name may not be an agent's id. `adminTokenHash` is an approver named admin.",
    ),
  changeFeed: changeFeedSchema.optional(),
});

const agent = z
  .strictObject({
    id: name.describe("The agent's id, as the server's `server.agents` names it."),
    server: z.url().describe("The server's base URL, e.g. http://syncup.example:8080."),
    secretEnv: z.string().optional().describe("Environment variable holding the agent's secret."),
    secretFile: z.string().optional().describe("File holding the agent's secret."),
    connectors: z.array(name).optional().describe("Connectors whose jobs this agent runs; default all."),
    onDrift: z
      .enum(ON_DRIFT)
      .optional()
      .describe("When the server refuses an incremental batch: run a complete instead (default) or stop."),
    retries: z
      .number()
      .int()
      .min(0)
      .max(20)
      .optional()
      .describe("Further attempts after a network error; default 8."),
    requestTimeoutSeconds: z
      .number()
      .positive()
      .max(MAX_TIMER_SECONDS)
      .optional()
      .describe("Seconds to wait for each answer; default 300."),
  })
  .superRefine((value, ctx) =>
    checkSecretSources(value, ctx, {
      env: "secretEnv",
      file: "secretFile",
      what: "the agent's secret",
      required: true,
    }),
  );

export const configSchema = z.strictObject({
  version: z.literal(1),
  workDir: z.string().optional().describe("Prepared files, per connector; default `./work`."),
  exportDir: z.string().optional().describe("CSV source files; default `<workDir>/export`."),
  database: z
    .strictObject({
      url: z.string().describe("`sqlite:<path>` or `postgres://…`; overridden by $SYNCUP_DATABASE_URL."),
    })
    .optional(),
  prepare: z
    .strictObject({
      memoryBudgetMiB: z.number().int().min(4).max(65536).optional(),
      maxRecordMiB: z
        .number()
        .int()
        .min(1)
        .max(256)
        .optional()
        .describe("Longest record of a source file, in Mi characters; a longer one is refused. Default 64."),
      tempDir: z.string().optional(),
    })
    .optional(),
  entityModel: z.strictObject({
    entityTypes: z.record(name, entityType),
    associations: z.record(name, association).optional(),
  }),
  connectors: z.record(name, connector),
  jobs: z.record(name, job).optional(),
  server: server.optional(),
  agent: agent.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type Thresholds = Partial<Record<ThresholdName, number | undefined>>;
