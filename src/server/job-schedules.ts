/**
 * The configured jobs as the console shows them: schedule and time zone, the next run (croner,
 * as the agent's scheduler computes it), the last recorded run, and who runs the job: an agent
 * whose connectors include the job's, or nobody the server knows of (`syncup jobs run` or a
 * scheduler of the embedded mode).
 */
import type { Config } from "../config/config.js";
import { cronOf } from "../jobs/scheduler.js";
import type { JobInstance } from "../protocol/api.js";
import type { Mode } from "../protocol/mode.js";
import type { Store } from "../store/store.js";
import type { Mutex } from "./mutex.js";

export interface JobView {
  readonly name: string;
  readonly connector: string;
  readonly mode: Mode;
  readonly schedule: string | null;
  readonly timeZone: string;
  readonly tasks: readonly string[];
  /** When the schedule fires next (ISO 8601), null without a schedule. */
  readonly nextRun: string | null;
  readonly lastRun: JobInstance | null;
  /** The agents of `server.agents` that may run it (those with its connector). */
  readonly agents: readonly string[];
}

export class JobScheduleService {
  constructor(
    private readonly deps: { readonly config: Config; readonly store: Store; readonly mutex: Mutex },
  ) {}

  async list(now = new Date()): Promise<JobView[]> {
    const { config } = this.deps;
    const jobs = Object.values(config.jobs).sort((a, b) => a.name.localeCompare(b.name));
    return this.deps.mutex.run(async () => {
      const out: JobView[] = [];
      for (const job of jobs) {
        const [lastRun] = await this.deps.store.jobs.list({ job: job.name, limit: 1 });
        out.push({
          name: job.name,
          connector: job.connector,
          mode: job.mode,
          schedule: job.schedule,
          timeZone: job.timeZone,
          tasks: job.tasks,
          nextRun:
            job.schedule === null
              ? null
              : (cronOf({ ...job, schedule: job.schedule })
                  .nextRun(now)
                  ?.toISOString() ?? null),
          lastRun: lastRun ?? null,
          agents: Object.values(config.server.agents)
            .filter((a) => a.connectors.includes(job.connector))
            .map((a) => a.id),
        });
      }
      return out;
    });
  }
}
