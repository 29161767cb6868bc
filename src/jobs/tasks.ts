/**
 * The bookkeeping of a job's tasks: each task's outcome, start, duration, counts and message,
 * the stop signal checked between tasks, and the ends of an attempt that are not errors (the
 * incremental drifted, the connector waits for a blocked batch).
 */
import { SyncupError } from "../errors.js";
import { DriftDetected, WaitingForBatch } from "../pipeline/drift.js";
import type { StepReport } from "../pipeline/run-connector.js";
import type { JobInstance, TaskName, TaskOutcome } from "../protocol/api.js";

/** The job was asked to stop (the agent shuts down) before `task`. */
export class JobStopped extends Error {
  constructor(readonly task: TaskName) {
    super(`stopped before the ${task} task: the agent is shutting down`);
    this.name = "JobStopped";
  }
}

/** How an error reads in an instance: its code first for domain errors. */
export function describeFailure(error: unknown): string {
  if (error instanceof SyncupError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What a task reports besides its outcome. */
export type TaskReport = StepReport;

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
