/**
 * The probes of `syncup server`: liveness (the process answers, whatever the database's state)
 * and readiness (the database answers and the queue is read; see `readiness.ts`).
 */
import type { Store } from "../store/store.js";
import { assessReadiness, type Readiness } from "./readiness.js";
import type { QueueHealth } from "./worker.js";

/** Liveness: answered while the process serves requests. */
export function liveness(store: Pick<Store, "label">): { status: "ok"; database: string } {
  return { status: "ok", database: store.label };
}

/**
 * Readiness, with the error of the database's read when it did not answer (for the log).
 * The read runs outside the mutex: it must answer while a long batch holds the connection (on
 * SQLite the queue shares it); a read inside another's transaction changes nothing.
 */
export async function probeReadiness(
  store: Pick<Store, "label" | "batches">,
  queue: QueueHealth,
): Promise<{ readiness: Readiness; databaseError?: unknown }> {
  try {
    await store.batches.countByState();
  } catch (error) {
    return { readiness: assessReadiness(store.label, false, queue), databaseError: error };
  }
  return { readiness: assessReadiness(store.label, true, queue) };
}
