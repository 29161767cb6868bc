/**
 * `server.changeFeed` in `syncup.yaml`: the retention of the change feed and its push sinks
 * (webhooks, NATS JetStream, RabbitMQ). Secrets come from an environment variable or a file,
 * never from the configuration itself.
 */
import { z } from "zod";
import { checkSecretSources } from "../connectors/schemas.js";

const feedName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, "letters, digits, _ and -, not first a digit");

const filter = z
  .strictObject({
    connectors: z.array(feedName).min(1).optional().describe("Only events of these connectors."),
    entityTypes: z
      .array(feedName)
      .min(1)
      .optional()
      .describe("Only resource events of these entity types, and link events of these associations."),
    operations: z
      .array(z.enum(["insert", "update", "delete"]))
      .min(1)
      .optional(),
  })
  .describe("Which events a sink receives; every event by default.");

const common = {
  filter: filter.optional(),
  maxAttempts: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe("Attempts at one delivery before its events are set aside as dead letters; default 10."),
  batchSize: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .describe(
      "Events per delivery (one webhook request, one series of confirmed publishes); default 100 for a webhook, 1000 for NATS and RabbitMQ.",
    ),
  retrySeconds: z
    .number()
    .positive()
    .max(3600)
    .optional()
    .describe("Wait after a first failure, doubled at each further one up to 300 s; default 1."),
};

const password = {
  passwordEnv: z.string().optional().describe("Environment variable holding the password."),
  passwordFile: z.string().optional().describe("File holding the password."),
};

const webhook = z
  .strictObject({
    type: z.literal("webhook"),
    url: z.url().describe("Where events are POSTed (https:// in production)."),
    secretEnv: z.string().optional().describe("Environment variable holding the signing secret."),
    secretFile: z.string().optional().describe("File holding the signing secret."),
    timeoutSeconds: z.number().positive().max(300).optional().describe("Per request; default 10."),
    ...common,
  })
  .superRefine((value, ctx) =>
    checkSecretSources(value, ctx, {
      env: "secretEnv",
      file: "secretFile",
      what: "the webhook's signing secret",
      required: true,
    }),
  );

const nats = z
  .strictObject({
    type: z.literal("nats"),
    servers: z.array(z.string()).min(1).describe("NATS servers, e.g. nats://127.0.0.1:4222."),
    stream: z.string().optional().describe("The JetStream stream, created when absent; default SYNCUP."),
    subjectPrefix: feedName.optional().describe("First token of the subjects; default syncup."),
    user: z.string().optional(),
    ...password,
    tokenEnv: z.string().optional().describe("Environment variable holding an authentication token."),
    tokenFile: z.string().optional().describe("File holding an authentication token."),
    ...common,
  })
  .superRefine((value, ctx) => {
    checkSecretSources(value, ctx, {
      env: "passwordEnv",
      file: "passwordFile",
      what: "the password",
      required: false,
    });
    checkSecretSources(value, ctx, {
      env: "tokenEnv",
      file: "tokenFile",
      what: "the token",
      required: false,
    });
  });

const rabbitmq = z
  .strictObject({
    type: z.literal("rabbitmq"),
    url: z
      .string()
      .regex(/^amqps?:\/\/[^:@/]*@?[^@]*$/, "amqp://[user@]host[:port][/vhost], without a password")
      .describe("The broker, with its user but without a password: amqp://user@host:5672/vhost."),
    exchange: z
      .string()
      .optional()
      .describe("The topic exchange, declared durable when absent; default syncup."),
    routingPrefix: feedName.optional().describe("First word of the routing keys; default syncup."),
    ...password,
    ...common,
  })
  .superRefine((value, ctx) =>
    checkSecretSources(value, ctx, {
      env: "passwordEnv",
      file: "passwordFile",
      what: "the password",
      required: false,
    }),
  );

export const changeFeedSchema = z
  .strictObject({
    retentionDays: z
      .number()
      .positive()
      .max(3650)
      .optional()
      .describe("Events older than this are pruned; default 7."),
    retentionRows: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("At most this many events are kept (the newest); no limit by default."),
    sinks: z
      .record(feedName, z.discriminatedUnion("type", [webhook, nats, rabbitmq]))
      .optional()
      .describe("Where the server pushes events, each with its own durable cursor."),
  })
  .describe(
    "The change feed: every apply writes one event per applied change, which GET /api/v1/changes and `syncup changes tail` read and the sinks receive.",
  );
