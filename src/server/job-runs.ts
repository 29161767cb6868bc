/**
 * "Run now" from the console: the server runs a job of the configuration itself, as
 * `syncup jobs run` would on this host (export → prepare → synchronize under the connector's
 * lock, the run recorded in the job history). Only jobs whose connector no agent of
 * `server.agents` runs: an agent's exports are on its own host (JOB_REMOTE). One run per
 * connector at a time (JOB_RUNNING); the answer waits a moment, so a run that ends at once
 * (or fails to start) answers its outcome, a longer one answers `running` and shows in the
 * history when it ends. Closing the server waits for the runs it started.
 */
import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { requireJob, runJob, type JobRun } from "../jobs/runner.js";
import type { JobInstance } from "../protocol/api.js";
import type { AdminPrincipal } from "./auth.js";

export interface RunNowAnswer {
  readonly job: string;
  readonly state: "running" | "finished";
  /** The run's record once it finished. */
  readonly instance: JobInstance | null;
}

/** How long the answer waits for the run to end. */
const ANSWER_WITHIN_MS = 2000;

export class JobRunService {
  /** The runs under way, by connector. */
  private readonly running = new Map<string, Promise<JobRun | undefined>>();

  constructor(private readonly deps: { readonly config: Config; readonly log: Logger }) {}

  async runNow(name: string, admin: AdminPrincipal): Promise<RunNowAnswer> {
    const { config } = this.deps;
    const job = requireJob(config, name);
    if (config.agent !== null) {
      throw new SyncupError(
        "JOB_REMOTE",
        `This configuration has an agent section: its jobs run through agent "${config.agent.id}" (syncup agent, or syncup jobs run ${name} there).`,
      );
    }
    const agents = Object.values(config.server.agents).filter((a) => a.connectors.includes(job.connector));
    if (agents.length > 0) {
      throw new SyncupError(
        "JOB_REMOTE",
        `Job "${name}" of connector "${job.connector}" runs on agent ${agents.map((a) => `"${a.id}"`).join(", ")}, where its exports are: run it there (syncup jobs run ${name}), or wait for its schedule.`,
      );
    }
    if (this.running.has(job.connector)) {
      throw new SyncupError(
        "JOB_RUNNING",
        `A job of connector "${job.connector}" is running on the server: wait for it to end (see the job history).`,
      );
    }
    const log = this.deps.log.child({ job: name, admin: admin.id });
    log.info("job run asked by an administrator");
    const run = runJob(config, name, { logger: log });
    const tracked = run
      .catch((error: unknown) => {
        log.error({ err: error }, "the job asked by an administrator did not run");
        return undefined;
      })
      .finally(() => this.running.delete(job.connector));
    this.running.set(job.connector, tracked);
    const ended = await Promise.race([
      run.then((r) => r.instance),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), ANSWER_WITHIN_MS).unref()),
    ]);
    return { job: name, state: ended === null ? "running" : "finished", instance: ended };
  }

  /** Waits for the runs under way (the server is closing). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }
}
