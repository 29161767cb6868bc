/**
 * Runs one job and produces its `JobInstance`. Two ways:
 *
 * - through the server, when the configuration has an `agent` section: resume an interrupted
 *   transfer, then export → prepare (notify first) → upload and seal → wait for the server's
 *   synchronization; the instance is posted to the server;
 * - locally, without one: export → prepare → synchronize into the configuration's repository;
 *   the instance is recorded there.
 *
 * An incremental that has no valid base (no or tampered `previous/`, the server's last
 * accepted batch is another) runs again as a complete one, unless `agent.onDrift` is `stop`.
 * The job holds its connector's lock throughout, and checks `signal` between tasks.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ServerClient } from "../agent/client.js";
import { readTransfer, resumeTransfer, type ResumeOutcome } from "../agent/transfer.js";
import type { Config, JobDef, Mode } from "../config/config.js";
import { SyncupError } from "../errors.js";
import type { JobInstance } from "../protocol/api.js";
import { DriftDetected, WaitingForBatch, withDriftPolicy } from "../pipeline/drift.js";
import { fallbackModeOf } from "../pipeline/run-connector.js";
import { openStore, type Store } from "../store/store.js";
import { attemptLocally } from "./local.js";
import { withConnectorLock } from "./lock.js";
import { describeFailure, JobStopped, plannedTasks, TaskRecorder, type AttemptEnd } from "./tasks.js";
import { attemptThroughServer } from "./through-server.js";

export interface RunJobDeps {
  readonly logger: Logger;
  /** Where secrets are read from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Once aborted, the job runs no further task (see `startScheduler`'s stop). */
  readonly signal?: AbortSignal;
  /** The server's client (through the server); made from `config.agent` when absent. */
  readonly client?: ServerClient;
  /** The repository (local jobs); `config.databaseUrl` is opened (and closed) when absent. */
  readonly store?: Store;
  /** How often the batch is polled while the server synchronizes it; default 500 ms. */
  readonly pollIntervalMs?: number;
}

/** A job's instance, and the error that failed it (for the exit code). */
export interface JobRun {
  readonly instance: JobInstance;
  readonly error: unknown;
}

/** The jobs this process runs: those of `agent.connectors`, or every job without an agent section. */
export function jobsOf(config: Config): JobDef[] {
  const connectors = config.agent?.connectors;
  return Object.values(config.jobs).filter(
    (j) => connectors === undefined || connectors.includes(j.connector),
  );
}

export function requireJob(config: Config, name: string): JobDef {
  const job = config.jobs[name];
  if (job === undefined) {
    const names = Object.keys(config.jobs);
    throw new SyncupError(
      "JOB_NOT_FOUND",
      `Unknown job "${name}" (the configuration has: ${names.length === 0 ? "no jobs" : names.join(", ")}).`,
    );
  }
  const agent = config.agent;
  if (agent !== null && !agent.connectors.includes(job.connector)) {
    throw new SyncupError(
      "JOB_NOT_FOUND",
      `Job "${name}" belongs to connector "${job.connector}", which agent "${agent.id}" does not run (agent.connectors: ${agent.connectors.join(", ")}).`,
    );
  }
  return job;
}

/** Logs an instance as one JSON line: info when it succeeded, warn when blocked or waiting, error when failed. */
export function logInstance(logger: Logger, instance: JobInstance): void {
  const level = instance.outcome === "succeeded" ? "info" : instance.outcome === "failed" ? "error" : "warn";
  logger[level](
    { jobInstance: instance },
    `Job "${instance.job}" ${instance.outcome}${instance.message === null ? "" : `: ${instance.message}`}`,
  );
}

/**
 * Runs `jobName` now and records its instance (posted to the server, or in the local
 * repository); the caller logs it (`logInstance`) or prints it.
 */
export async function runJob(config: Config, jobName: string, deps: RunJobDeps): Promise<JobRun> {
  const job = requireJob(config, jobName);
  const env = deps.env ?? process.env;
  const agent = config.agent;
  const client =
    agent === null ? undefined : (deps.client ?? (await ServerClient.fromConfig(agent, deps.logger, env)));
  const store = agent !== null ? undefined : (deps.store ?? (await openStore(config.databaseUrl)));
  try {
    const run = await withConnectorLock(config, job.connector, job.name, () =>
      execute(config, job, { ...deps, env, client, store }),
    );
    const { instance } = run;
    if (client !== undefined) {
      await client
        .postJobInstance(instance)
        .catch((error: unknown) =>
          deps.logger.error(
            { job: job.name, instance: instance.id, error: describeFailure(error) },
            `Could not post instance ${instance.id} of job "${job.name}" to the server`,
          ),
        );
    } else if (store !== undefined) {
      await store.jobs.record(instance);
    }
    return run;
  } finally {
    if (store !== undefined && deps.store === undefined) await store.close();
  }
}

interface ExecuteDeps extends Omit<RunJobDeps, "client" | "store"> {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly client: ServerClient | undefined;
  readonly store: Store | undefined;
}

function describeResume(outcome: ResumeOutcome): string | null {
  switch (outcome.kind) {
    case "none":
      return null;
    case "sent":
      return `resumed batch ${outcome.batchId}: uploaded ${outcome.sent.uploaded} missing files and sealed it`;
    case "confirmed":
      return `batch ${outcome.batchId} had been sealed before the interruption: previous/ advanced`;
    case "dropped":
      return `dropped the interrupted batch ${outcome.batchId}: ${outcome.reason}`;
  }
}

/**
 * The mode a drifted incremental falls back to: complete, or initial when the repository holds
 * nothing of the connector yet (a complete would be blocked by the count thresholds).
 */
async function fallbackMode(
  connector: string,
  client: ServerClient | undefined,
  store: Store | undefined,
): Promise<Mode> {
  if (client !== undefined) {
    const status = await client.connector(connector);
    return status.lastApplied === null && status.lastAccepted === null ? "initial" : "complete";
  }
  return fallbackModeOf(store!, connector);
}

async function execute(config: Config, job: JobDef, deps: ExecuteDeps): Promise<JobRun> {
  const started = new Date();
  const recorder = new TaskRecorder(deps.signal);
  const { client, store, logger } = deps;
  const planned = plannedTasks(job.tasks, client !== undefined);
  let mode: Mode = job.mode;
  let note: string | null = null;
  let end: AttemptEnd;
  let failure: unknown;
  /** Where the current attempt's tasks start in `recorder.tasks`; undefined before the first. */
  let before: number | undefined;

  const attempt = (m: Mode): Promise<AttemptEnd> => {
    if (client !== undefined) {
      return attemptThroughServer(config, job, m, recorder, {
        client,
        logger,
        env: deps.env,
        signal: deps.signal,
        syncTimeoutMs: config.agent?.requestTimeoutMs ?? 300_000,
        pollIntervalMs: deps.pollIntervalMs ?? 500,
      });
    }
    return attemptLocally(config, job, m, recorder, { store: store!, logger, env: deps.env });
  };

  try {
    if (client !== undefined && (await readTransfer(config, job.connector)) !== undefined) {
      await recorder.run(
        "upload",
        () => resumeTransfer(client, config, job.connector, logger),
        (outcome) => ({
          counts:
            outcome.kind === "sent" ? { files: outcome.sent.files, uploaded: outcome.sent.uploaded } : {},
          message: describeResume(outcome),
        }),
      );
    }
    try {
      const run = await withDriftPolicy(
        config,
        mode,
        (m) => {
          before = recorder.tasks.length;
          return attempt(m);
        },
        () => fallbackMode(job.connector, client, store),
        (fallback, m, reason) => {
          note = fallback;
          logger.warn({ job: job.name, connector: job.connector, reason: reason.message }, fallback);
          mode = m;
        },
      );
      end = run.value;
    } catch (error) {
      const ran = recorder.tasks.length - (before ?? 0);
      if (error instanceof WaitingForBatch) {
        end = { outcome: "waiting", batchId: null, message: error.message };
        recorder.skipRest(planned, ran, "the connector waits for its blocked batch");
      } else {
        failure = error instanceof DriftDetected ? error.error : error;
        const message =
          error instanceof DriftDetected
            ? `${describeFailure(error.error)} agent.onDrift is "stop": run a complete job, or set agent.onDrift to complete.`
            : describeFailure(error);
        end = { outcome: "failed", batchId: null, message };
        recorder.skipRest(
          planned,
          ran,
          error instanceof JobStopped
            ? "not run: the agent is shutting down"
            : "not run: the job failed (see its message)",
        );
      }
    }
  } catch (error) {
    // The resume of an interrupted transfer, or the choice of a fallback mode, failed.
    failure = error;
    end = { outcome: "failed", batchId: null, message: describeFailure(error) };
    const ran = before === undefined ? 0 : recorder.tasks.length - before;
    recorder.skipRest(planned, ran, "not run: the job failed (see its message)");
  }

  const instance: JobInstance = {
    id: randomUUID(),
    job: job.name,
    connector: job.connector,
    mode: job.mode,
    ranMode: mode,
    agent: config.agent?.id ?? null,
    outcome: end.outcome,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    batchId: end.batchId,
    tasks: recorder.tasks,
    message: [note, end.message].filter((m) => m !== null).join(" ") || null,
  };
  return { instance, error: failure };
}
