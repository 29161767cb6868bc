/**
 * One attempt of a job through the server: export → prepare (the notification first) → upload
 * and seal → wait for the server's synchronization. See `runner.ts` for the drift fallback.
 */
import type { Logger } from "pino";
import type { ServerClient } from "../agent/client.js";
import {
  abandonBatch,
  notifyBatch,
  readPrepareManifest,
  recordPrepared,
  sendBatch,
  type SentBatch,
  type TransferState,
} from "../agent/transfer.js";
import type { Config, JobDef, Mode } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { PATHS, type BatchView } from "../protocol/api.js";
import { blockedMessage } from "../protocol/batch-states.js";
import { DriftDetected, WaitingForBatch } from "../pipeline/drift.js";
import { exportStep, incrementalBase, prepareStep } from "../pipeline/run-connector.js";
import type { AttemptEnd, TaskRecorder } from "./tasks.js";

/** States in which the server has not finished with a batch yet. */
const PENDING = new Set<BatchView["state"]>(["notified", "sealed", "staging"]);

export interface ServerAttemptDeps {
  readonly client: ServerClient;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal | undefined;
  /** How long to wait for the synchronization, at most. */
  readonly syncTimeoutMs: number;
  readonly pollIntervalMs: number;
}

/** Notifies, turning the server's refusals of an incremental into a drift or a wait. */
async function notify(
  deps: ServerAttemptDeps,
  config: Config,
  connector: string,
  mode: Mode,
  baseBatch: string | null,
): Promise<TransferState> {
  try {
    return await notifyBatch(deps.client, config, connector, mode, baseBatch);
  } catch (error) {
    if (mode === "incremental" && error instanceof SyncupError && error.code === "BASE_MISMATCH") {
      throw new DriftDetected(error);
    }
    if (mode === "incremental" && error instanceof SyncupError && error.code === "CONNECTOR_BLOCKED") {
      throw new WaitingForBatch(error.message);
    }
    throw error;
  }
}

/**
 * After a failure between the notification and the confirmed seal: an unreachable server leaves
 * `transfer.json` for the next job to resume; anything else (a stop, a refusal, a failed
 * prepare) abandons the batch so that the next job starts afresh.
 */
async function settleUnsealed(
  deps: ServerAttemptDeps,
  config: Config,
  transfer: TransferState,
  error: unknown,
): Promise<void> {
  if (error instanceof SyncupError && error.code === "SERVER_UNREACHABLE" && transfer.preparedAt !== null) {
    deps.logger.warn(
      { connector: transfer.connector, batch: transfer.batchId },
      `Batch ${transfer.batchId} is left for the next job to resume (transfer.json)`,
    );
    return;
  }
  const reason = error instanceof Error ? error.message : String(error);
  try {
    await abandonBatch(deps.client, config, transfer, deps.logger, reason);
  } catch (abandonError) {
    deps.logger.error(
      { connector: transfer.connector, batch: transfer.batchId, error: String(abandonError) },
      `Could not abandon batch ${transfer.batchId}; the next job drops it or the server's upload timeout cancels it`,
    );
  }
}

/** Runs the job's tasks in `mode` through the server. */
export async function attemptThroughServer(
  config: Config,
  job: JobDef,
  mode: Mode,
  recorder: TaskRecorder,
  deps: ServerAttemptDeps,
): Promise<AttemptEnd> {
  const connector = job.connector;
  const has = (task: "export" | "prepare" | "synchronize") => job.tasks.includes(task);
  let baseBatch: string | null = null;
  if (mode === "incremental" && has("synchronize")) {
    // Checked before the export too, so that a blocked connector does not export for nothing.
    const status = await deps.client.connector(connector);
    if (status.blocked !== null) {
      throw new WaitingForBatch(blockedMessage(connector, status.blocked));
    }
  }
  if (mode === "incremental" && has("prepare")) baseBatch = await incrementalBase(config, connector);
  const exported = has("export")
    ? await exportStep(config, connector, mode, recorder, {
        env: deps.env,
        log: (line) => deps.logger.info({ connector }, line),
      })
    : undefined;

  let transfer: TransferState | undefined;
  try {
    if (has("prepare")) {
      await prepareStep(config, connector, mode, recorder, {
        before: async () => {
          if (has("synchronize")) transfer = await notify(deps, config, connector, mode, baseBatch);
        },
        onDrift: async (error) => {
          if (transfer !== undefined) await settleUnsealed(deps, config, transfer, error);
          transfer = undefined;
        },
        after: async () => {
          if (transfer !== undefined) transfer = await recordPrepared(config, transfer);
        },
        message: () => (transfer === undefined ? null : `batch ${transfer.batchId}`),
      });
    }
    if (!has("synchronize")) return { outcome: "succeeded", batchId: null, message: null };

    const sent = await recorder.run(
      "upload",
      async (): Promise<SentBatch> => {
        if (transfer === undefined) {
          const manifest = await readPrepareManifest(config, connector);
          if (manifest.mode !== mode) {
            throw new SyncupError(
              "MODE_MISMATCH",
              `Job "${job.name}" sends ${mode} batches, but the prepared files of connector "${connector}" are ${manifest.mode}: add the prepare task to the job, or prepare in ${mode} mode.`,
            );
          }
          transfer = await notify(deps, config, connector, mode, manifest.baseBatch);
          transfer = await recordPrepared(config, transfer);
        }
        const current = transfer;
        return sendBatch(deps.client, config, current, {
          logger: deps.logger,
          ...(exported === undefined ? {} : { commitState: exported.commitState }),
        });
      },
      (s) => ({
        counts: { files: s.files, uploaded: s.uploaded, bytes: s.bytesUploaded },
        message: `batch ${s.batch.id}`,
      }),
    );
    transfer = undefined;
    const end = await recorder.run(
      "synchronize",
      () => waitForSynchronization(sent.batch.id, deps),
      (e) => ({ counts: e.counts, message: e.message }),
    );
    return { outcome: end.outcome, batchId: end.batchId, message: end.message };
  } catch (error) {
    if (transfer !== undefined) await settleUnsealed(deps, config, transfer, error);
    throw error;
  }
}

interface SyncEnd extends AttemptEnd {
  readonly counts: Record<string, number>;
}

/** Polls the batch until the server has synchronized it (or `syncTimeoutMs` passed, or a stop). */
async function waitForSynchronization(batchId: string, deps: ServerAttemptDeps): Promise<SyncEnd> {
  const deadline = Date.now() + deps.syncTimeoutMs;
  for (;;) {
    const batch = await deps.client.getBatch(batchId);
    if (batch === undefined) {
      throw new SyncupError(
        "BATCH_NOT_FOUND",
        `The server no longer knows batch ${batchId}, sealed a moment ago.`,
      );
    }
    const counts = { ...batch.counts };
    if (!PENDING.has(batch.state)) return { ...endOf(batch, deps.client.serverUrl), counts };
    if (Date.now() >= deadline || deps.signal?.aborted === true) {
      const why =
        deps.signal?.aborted === true
          ? "the agent is shutting down"
          : `after ${Math.round(deps.syncTimeoutMs / 1000)} s`;
      return {
        outcome: "waiting",
        batchId,
        message: `Batch ${batchId} is still ${batch.state} (${why}): the server synchronizes it in its turn (GET ${PATHS.batch(batchId)} shows where it is).`,
        counts,
      };
    }
    await sleep(deps.pollIntervalMs, deps.signal);
  }
}

function endOf(batch: BatchView, serverUrl: string): AttemptEnd {
  switch (batch.state) {
    case "applied":
      return { outcome: "succeeded", batchId: batch.id, message: null };
    case "blocked":
      return {
        outcome: "blocked",
        batchId: batch.id,
        message: `Batch ${batch.id} is BLOCKED by its thresholds; nothing was applied. Review its staged changes (syncup batches changes ${batch.id} --server ${serverUrl}, with the admin token in SYNCUP_ADMIN_TOKEN), then validate or cancel it.`,
      };
    default:
      return {
        outcome: "failed",
        batchId: batch.id,
        message: `Batch ${batch.id} ended ${batch.state} on the server${batch.error === null ? "" : `: ${batch.error}`}`,
      };
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
