/**
 * The bookkeeping of a job's tasks: each task's outcome, start, duration, counts and message,
 * the stop signal checked between tasks, and the ends of an attempt that are not errors (the
 * incremental drifted, the connector waits for a blocked batch).
 */
import type { Mode } from "../config/config.js";
import { SyncupError } from "../errors.js";
import type { ExportReport } from "../export/export.js";
import type { PrepareReport } from "../prepare/prepare.js";
import type { JobInstance, TaskName, TaskOutcome } from "../protocol/api.js";

/** The job was asked to stop (the agent shuts down) before `task`. */
export class JobStopped extends Error {
  constructor(readonly task: TaskName) {
    super(`stopped before the ${task} task: the agent is shutting down`);
    this.name = "JobStopped";
  }
}

/**
 * An incremental run cannot go on (no or tampered `previous/`, the server's base differs):
 * the job falls back to a complete run, or stops, as `agent.onDrift` says.
 */
export class DriftDetected extends Error {
  /** The refusal: PREVIOUS_MISSING, PREVIOUS_INVALID or BASE_MISMATCH. */
  readonly error: SyncupError;

  constructor(error: SyncupError) {
    super(error.message, { cause: error });
    this.name = "DriftDetected";
    this.error = error;
  }
}

/** The connector's incrementals wait for a blocked batch: the instance ends `waiting`. */
export class WaitingForBatch extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "WaitingForBatch";
  }
}

/** The codes by which prepare and the server say an incremental has no valid base. */
export function isDriftError(error: unknown): error is SyncupError {
  return (
    error instanceof SyncupError &&
    (error.code === "PREVIOUS_INVALID" || error.code === "PREVIOUS_MISSING" || error.code === "BASE_MISMATCH")
  );
}

/** An incremental with no accepted state to compute its changes from. */
export function noPreviousError(connector: string): SyncupError {
  return new SyncupError(
    "PREVIOUS_MISSING",
    `Connector "${connector}" has no previous/ (no batch of it was accepted yet, or it was removed): its changes cannot be computed.`,
  );
}

/** How an error reads in an instance: its code first for domain errors. */
export function describeFailure(error: unknown): string {
  if (error instanceof SyncupError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What a task reports besides its outcome. */
export interface TaskReport {
  readonly counts?: Readonly<Record<string, number>>;
  readonly message?: string | null;
}

/** Runs a job's tasks one by one, recording each, and refuses to start one once stopped. */
export class TaskRecorder {
  readonly tasks: TaskOutcome[] = [];

  constructor(private readonly signal: AbortSignal | undefined) {}

  get stopped(): boolean {
    return this.signal?.aborted === true;
  }

  async run<T>(
    task: TaskName,
    fn: () => Promise<T>,
    report: (value: T) => TaskReport = () => ({}),
  ): Promise<T> {
    if (this.stopped) throw new JobStopped(task);
    const started = new Date();
    const seconds = () => (Date.now() - started.getTime()) / 1000;
    try {
      const value = await fn();
      const { counts = {}, message = null } = report(value);
      this.tasks.push({
        task,
        outcome: "succeeded",
        startedAt: started.toISOString(),
        seconds: seconds(),
        counts,
        message,
      });
      return value;
    } catch (error) {
      this.tasks.push({
        task,
        outcome: error instanceof WaitingForBatch ? "skipped" : "failed",
        startedAt: started.toISOString(),
        seconds: seconds(),
        counts: {},
        message:
          error instanceof WaitingForBatch
            ? error.message
            : describeFailure(error instanceof DriftDetected ? error.error : error),
      });
      throw error;
    }
  }

  /** Records the planned tasks that did not run, as skipped. */
  skipRest(planned: readonly TaskName[], fromIndex: number, message: string): void {
    const at = new Date().toISOString();
    for (const task of planned.slice(fromIndex)) {
      this.tasks.push({ task, outcome: "skipped", startedAt: at, seconds: 0, counts: {}, message });
    }
  }
}

/** How one attempt (in one mode) of a job ended. */
export interface AttemptEnd {
  readonly outcome: JobInstance["outcome"];
  readonly batchId: string | null;
  readonly message: string | null;
}

/** The tasks a job runs, in order; `upload` only through a server, where `synchronize` implies it. */
export function plannedTasks(
  tasks: readonly ("export" | "prepare" | "synchronize")[],
  throughServer: boolean,
): TaskName[] {
  const planned: TaskName[] = [];
  if (tasks.includes("export")) planned.push("export");
  if (tasks.includes("prepare")) planned.push("prepare");
  if (tasks.includes("synchronize"))
    planned.push(...(throughServer ? (["upload", "synchronize"] as const) : (["synchronize"] as const)));
  return planned;
}

/** The message of an instance that fell back from incremental to complete. */
export function fallbackNote(reason: string, mode: Mode): string {
  const trimmed = reason.replace(/[.\s]+$/, "");
  return `The incremental run could not go on (${trimmed}); ran ${mode === "initial" ? "an" : "a"} ${mode} synchronization instead.`;
}

/** Sums numeric fields of a list of records. */
export function sumOf<T>(items: readonly T[], field: (item: T) => number): number {
  return items.reduce((total, item) => total + field(item), 0);
}

export function exportCounts(report: ExportReport): Record<string, number> {
  return { files: report.files.length, rows: sumOf(report.files, (f) => f.rows) };
}

export function prepareCounts(report: PrepareReport): Record<string, number> {
  const s = report.manifest.summaries;
  return {
    mappings: s.length,
    rowsRead: sumOf(s, (m) => m.rowsRead),
    kept: sumOf(s, (m) => m.kept),
    nullKeys: sumOf(s, (m) => m.nullKeys),
    duplicates: sumOf(s, (m) => m.duplicates),
    inserts: sumOf(s, (m) => m.inserts),
    updates: sumOf(s, (m) => m.updates),
    deletes: sumOf(s, (m) => m.deletes),
  };
}
