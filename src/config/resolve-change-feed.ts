/**
 * `server.changeFeed`, defaults applied: null when the configuration has none (no apply
 * writes events then). Sink names, connectors and entity types are checked against the
 * configuration; secrets stay where they are (an environment variable's name, a file's path).
 */
import type { ChangeFeedDef, FeedSinkDef } from "./config.js";
import type { Resolving } from "./resolving.js";
import type { RawConfig } from "./schema.js";

const DEFAULT_RETENTION_DAYS = 7;
const DEFAULT_MAX_ATTEMPTS = 10;
/** Events per delivery: one webhook request; a series of publishes confirmed together on a broker. */
const DEFAULT_BATCH_SIZE = { webhook: 100, broker: 1000 };
const DEFAULT_RETRY_SECONDS = 1;
const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;

type SecretSource = { readonly env?: string; readonly file?: string };

export function resolveChangeFeed(raw: RawConfig, r: Resolving): ChangeFeedDef | null {
  const feed = raw.server?.changeFeed;
  if (feed === undefined) return null;
  const scopes = new Set([
    ...Object.keys(raw.entityModel.entityTypes),
    ...Object.keys(raw.entityModel.associations ?? {}),
  ]);
  const sinks: FeedSinkDef[] = [];
  for (const [name, sink] of Object.entries(feed.sinks ?? {})) {
    const path = ["server", "changeFeed", "sinks", name];
    sink.filter?.connectors?.forEach((c, i) => {
      if (!(c in raw.connectors)) r.problem([...path, "filter", "connectors", i], `unknown connector "${c}"`);
    });
    sink.filter?.entityTypes?.forEach((t, i) => {
      if (!scopes.has(t))
        r.problem([...path, "filter", "entityTypes", i], `unknown entity type or association "${t}"`);
    });
    const secret = (env: string | undefined, file: string | undefined): SecretSource | null =>
      env !== undefined ? { env } : file !== undefined ? { file: r.abs(file) } : null;
    const base = {
      name,
      filter: {
        connectors: sink.filter?.connectors ?? null,
        entityTypes: sink.filter?.entityTypes ?? null,
        operations: sink.filter?.operations ?? null,
      },
      maxAttempts: sink.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      batchSize:
        sink.batchSize ?? (sink.type === "webhook" ? DEFAULT_BATCH_SIZE.webhook : DEFAULT_BATCH_SIZE.broker),
      retryMs: (sink.retrySeconds ?? DEFAULT_RETRY_SECONDS) * 1000,
    };
    switch (sink.type) {
      case "webhook":
        sinks.push({
          ...base,
          type: "webhook",
          url: sink.url,
          secret: secret(sink.secretEnv, sink.secretFile) ?? {},
          timeoutMs: (sink.timeoutSeconds ?? DEFAULT_WEBHOOK_TIMEOUT_SECONDS) * 1000,
        });
        break;
      case "nats":
        sinks.push({
          ...base,
          type: "nats",
          servers: sink.servers,
          stream: sink.stream ?? "SYNCUP",
          subjectPrefix: sink.subjectPrefix ?? "syncup",
          user: sink.user ?? null,
          password: secret(sink.passwordEnv, sink.passwordFile),
          token: secret(sink.tokenEnv, sink.tokenFile),
        });
        break;
      case "rabbitmq":
        sinks.push({
          ...base,
          type: "rabbitmq",
          url: sink.url,
          exchange: sink.exchange ?? "syncup",
          routingPrefix: sink.routingPrefix ?? "syncup",
          password: secret(sink.passwordEnv, sink.passwordFile),
        });
        break;
    }
  }
  return {
    retentionMs: (feed.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400_000,
    retentionRows: feed.retentionRows ?? null,
    sinks,
  };
}
