/**
 * One attempt of a job in this process, with no server: the run service's local attempt
 * (`pipeline/run-connector.ts`, the one `syncup run` runs), its steps recorded as the job's tasks.
 */
import type { Logger } from "pino";
import type { Config, JobDef, Mode } from "../config/config.js";
import { attemptLocal } from "../pipeline/run-connector.js";
import type { Store } from "../store/store.js";
import type { AttemptEnd, TaskRecorder } from "./tasks.js";

export interface LocalAttemptDeps {
  readonly store: Store;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Runs the job's tasks in `mode` in this process. */
export async function attemptLocally(
  config: Config,
  job: JobDef,
  mode: Mode,
  recorder: TaskRecorder,
  deps: LocalAttemptDeps,
): Promise<AttemptEnd> {
  const { store, logger } = deps;
  const connector = job.connector;
  const { sync } = await attemptLocal(config, store, connector, mode, {
    steps: job.tasks,
    recorder,
    env: deps.env,
    log: (line) => logger.info({ connector }, line),
  });
  if (sync === null) return { outcome: "succeeded", batchId: null, message: null };
  if (sync.state === "blocked") {
    return {
      outcome: "blocked",
      batchId: sync.batchId,
      message: `Batch ${sync.batchId} is BLOCKED by its thresholds; nothing was applied. Review it with: syncup batches changes ${sync.batchId} --config ${config.file}; then validate or cancel it.`,
    };
  }
  return { outcome: "succeeded", batchId: sync.batchId, message: null };
}
