/**
 * Readiness of `syncup server` (`GET /ready`), apart from its liveness (`GET /health`: the
 * process answers). Ready means that agents' requests can be served and that sealed batches
 * get synchronized: the database answers the API's connection now, and the worker's reads of
 * the queue have not failed `QUEUE_FAILURES_UNREADY` times in a row. A lost connection is made
 * again at the next statement, so one failed read is the usual trace of a connection that was
 * dropped and is back; failures that go on mean the queue is stuck.
 */
import type { QueueHealth } from "./worker.js";

/** Failed reads of the queue in a row from which the server is not ready. */
export const QUEUE_FAILURES_UNREADY = 2;

export interface Readiness {
  readonly status: "ready" | "degraded";
  /** The database URL without credentials. */
  readonly database: string;
  readonly checks: {
    /** Whether the API's connection could read the database for this answer. */
    readonly database: "ok" | "unavailable";
    /** Whether the worker reads the queue. */
    readonly queue: "ok" | "failing";
  };
  readonly queue: {
    /** When the worker last read the queue (ISO 8601), null before its first read. */
    readonly lastReadAt: string | null;
    /** Failed reads since then. */
    readonly failures: number;
  };
}

/** The readiness of a server whose database did (or did not) answer, and whose queue is in `queue`'s state. */
export function assessReadiness(database: string, databaseAnswers: boolean, queue: QueueHealth): Readiness {
  const queueOk = queue.failures < QUEUE_FAILURES_UNREADY;
  return {
    status: databaseAnswers && queueOk ? "ready" : "degraded",
    database,
    checks: { database: databaseAnswers ? "ok" : "unavailable", queue: queueOk ? "ok" : "failing" },
    queue: { lastReadAt: queue.lastRead?.toISOString() ?? null, failures: queue.failures },
  };
}

/** The OpenAPI schema of a `Readiness` (200 when ready, 503 when degraded). */
export const readinessSchema = {
  type: "object",
  properties: {
    status: { type: "string", enum: ["ready", "degraded"] },
    database: { type: "string" },
    checks: {
      type: "object",
      properties: {
        database: { type: "string", enum: ["ok", "unavailable"] },
        queue: { type: "string", enum: ["ok", "failing"] },
      },
    },
    queue: {
      type: "object",
      properties: {
        lastReadAt: { type: ["string", "null"] },
        failures: { type: "integer" },
      },
    },
  },
} as const;
