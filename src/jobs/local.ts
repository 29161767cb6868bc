/**
 * One attempt of a job in this process, with no server: export → prepare → synchronize into the
 * configuration's repository, `previous/` and the export state advancing only once the batch
 * was applied (`synchronizePrepared`, shared with `syncup run`).
 */
import type { Logger } from "pino";
import type { Config, JobDef, Mode } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { exportConnector } from "../export/export.js";
import { synchronizePrepared } from "../pipeline/run-connector.js";
import { prepareConnector } from "../prepare/prepare.js";
import { readPreviousManifest } from "../prepare/previous.js";
import { blockedError, countsOf } from "../sync/synchronize.js";
import type { Store } from "../store/store.js";
import {
  DriftDetected,
  exportCounts,
  isDriftError,
  noPreviousError,
  prepareCounts,
  WaitingForBatch,
  type AttemptEnd,
  type TaskRecorder,
} from "./tasks.js";

export interface LocalAttemptDeps {
  readonly store: Store;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Turns the drift errors of an incremental into `DriftDetected`. */
async function driftAware<T>(mode: Mode, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (mode === "incremental" && isDriftError(error)) throw new DriftDetected(error);
    if (mode === "incremental" && error instanceof SyncupError && error.code === "CONNECTOR_BLOCKED") {
      throw new WaitingForBatch(error.message);
    }
    throw error;
  }
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
  const has = (task: "export" | "prepare" | "synchronize") => job.tasks.includes(task);
  if (mode === "incremental") {
    const blocked = (await store.batches.inState(connector, "blocked"))[0];
    if (blocked !== undefined && has("synchronize")) throw new WaitingForBatch(blockedError(blocked).message);
    if (has("prepare") && (await readPreviousManifest(config, connector)) === undefined) {
      throw new DriftDetected(noPreviousError(connector));
    }
  }
  const exported = has("export")
    ? await recorder.run(
        "export",
        () =>
          exportConnector(config, connector, mode, {
            deferStateCommit: true,
            env: deps.env,
            log: (line) => logger.info({ connector }, line),
          }),
        (r) => ({ counts: exportCounts(r) }),
      )
    : undefined;
  if (has("prepare")) {
    await recorder.run(
      "prepare",
      () => driftAware(mode, () => prepareConnector(config, connector, mode)),
      (r) => ({ counts: prepareCounts(r) }),
    );
  }
  if (!has("synchronize")) return { outcome: "succeeded", batchId: null, message: null };
  const report = await recorder.run(
    "synchronize",
    () => driftAware(mode, () => synchronizePrepared(config, store, connector, mode, exported)),
    (r) => ({ counts: countsOf(r), message: `batch ${r.batchId}: ${r.state}` }),
  );
  if (report.state === "blocked") {
    return {
      outcome: "blocked",
      batchId: report.batchId,
      message: `Batch ${report.batchId} is BLOCKED by its thresholds; nothing was applied. Review it with: syncup batches changes ${report.batchId} --config ${config.file}; then validate or cancel it.`,
    };
  }
  return { outcome: "succeeded", batchId: report.batchId, message: null };
}
