/**
 * The jobs' cron schedules (croner), in the agent's process. Jobs of one connector share its
 * work folder, so they run one after another: one promise queue per connector. A job already
 * running or queued is not queued again when its schedule fires (the firing is logged as
 * skipped), and the connector's lock keeps other processes (`syncup jobs run`) out.
 *
 * `stop()` stops every schedule, drops the jobs still queued, and lets the running job finish
 * its current task: the job is aborted between tasks. A batch notified but not yet sealed is
 * then abandoned (DELETE), so the next job starts afresh from an export whose state was not
 * advanced; nothing is lost, and the server does not wait for an upload that will not come.
 */
import { Cron } from "croner";
import type { Config, JobDef } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { jobsOf, logInstance, runJob, type JobRun, type RunJobDeps } from "./runner.js";
import { describeFailure } from "./tasks.js";

export interface SchedulerDeps extends Omit<RunJobDeps, "signal"> {
  /** Runs one job; default `runJob`. */
  readonly run?: (config: Config, jobName: string, deps: RunJobDeps) => Promise<JobRun>;
}

export interface ScheduledJob {
  readonly job: JobDef;
  readonly cron: Cron;
}

export interface Scheduler {
  readonly scheduled: readonly ScheduledJob[];
  /** Names of the jobs running or queued. */
  busy(): string[];
  /** Stops the schedules and resolves once the running job (if any) has ended. */
  stop(): Promise<void>;
}

/** The croner schedule of a job, without a function (for `nextRun`). */
export function cronOf(job: JobDef & { schedule: string }): Cron {
  return new Cron(job.schedule, { timezone: job.timeZone, paused: true });
}

/** Schedules every job of this process (see `jobsOf`) that has a schedule. */
export function startScheduler(config: Config, deps: SchedulerDeps): Scheduler {
  const { logger } = deps;
  const run = deps.run ?? runJob;
  const controller = new AbortController();
  const queues = new Map<string, Promise<void>>();
  const pending = new Set<string>();

  const runOne = async (job: JobDef): Promise<void> => {
    if (controller.signal.aborted) {
      logger.info({ job: job.name }, `Job "${job.name}" not started: the agent is stopping`);
      return;
    }
    try {
      const { instance } = await run(config, job.name, { ...deps, signal: controller.signal });
      logInstance(logger, instance);
    } catch (error) {
      if (error instanceof SyncupError && error.code === "JOB_RUNNING") {
        logger.warn(
          { job: job.name, connector: job.connector },
          `Job "${job.name}" skipped: ${error.message}`,
        );
      } else {
        logger.error(
          { job: job.name, error: describeFailure(error) },
          `Job "${job.name}" could not run: ${describeFailure(error)}`,
        );
      }
    }
  };

  const enqueue = (job: JobDef): Promise<void> => {
    if (controller.signal.aborted) return Promise.resolve();
    if (pending.has(job.name)) {
      logger.info({ job: job.name }, `Job "${job.name}" skipped: it is already running or queued`);
      return Promise.resolve();
    }
    pending.add(job.name);
    const tail = (queues.get(job.connector) ?? Promise.resolve())
      .then(() => runOne(job))
      .finally(() => pending.delete(job.name));
    queues.set(job.connector, tail);
    return tail;
  };

  const scheduled: ScheduledJob[] = [];
  for (const job of jobsOf(config)) {
    const schedule = job.schedule;
    if (schedule === null) continue;
    const cron = new Cron(
      schedule,
      {
        timezone: job.timeZone,
        protect: () =>
          logger.info({ job: job.name }, `Job "${job.name}" skipped: it is already running or queued`),
        catch: (error: unknown) =>
          logger.error({ job: job.name, error: describeFailure(error) }, `Job "${job.name}" failed to start`),
      },
      () => enqueue(job),
    );
    scheduled.push({ job, cron });
    logger.info(
      {
        job: job.name,
        connector: job.connector,
        schedule,
        timeZone: job.timeZone,
        nextRun: cron.nextRun()?.toISOString() ?? null,
      },
      `Scheduled job "${job.name}" (${schedule}, ${job.timeZone})`,
    );
  }

  return {
    scheduled,
    busy: () => [...pending],
    stop: async () => {
      for (const { cron } of scheduled) cron.stop();
      controller.abort();
      // Nothing is queued once aborted: the queues' tails are all there is to wait for.
      await Promise.all(queues.values());
    },
  };
}
