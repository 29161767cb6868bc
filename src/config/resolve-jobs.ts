/** The jobs of a configuration: a known connector, a cron schedule croner reads, an IANA time zone. */
import { Cron } from "croner";
import type { JobDef } from "./config.js";
import type { Resolving } from "./resolving.js";
import type { RawConfig } from "./schema.js";

export function resolveJobs(raw: RawConfig, r: Resolving): Record<string, JobDef> {
  const jobs: Record<string, JobDef> = {};
  for (const [jobName, job] of Object.entries(raw.jobs ?? {})) {
    const jpath = ["jobs", jobName];
    if (!(job.connector in raw.connectors))
      r.problem([...jpath, "connector"], `unknown connector "${job.connector}"`);
    if (job.timeZone !== undefined && !isTimeZone(job.timeZone)) {
      r.problem(
        [...jpath, "timeZone"],
        `unknown time zone "${job.timeZone}" (use an IANA name such as Europe/Paris)`,
      );
    }
    if (job.schedule !== undefined) {
      const fields = job.schedule.trim().split(/\s+/).length;
      const invalid =
        fields < 5 || fields > 6
          ? `expected a cron expression of 5 or 6 fields, found ${fields}`
          : cronProblem(
              job.schedule,
              job.timeZone !== undefined && isTimeZone(job.timeZone) ? job.timeZone : "UTC",
            );
      if (invalid !== undefined) r.problem([...jpath, "schedule"], invalid);
    }
    jobs[jobName] = {
      name: jobName,
      connector: job.connector,
      mode: job.mode,
      schedule: job.schedule ?? null,
      timeZone: job.timeZone ?? "UTC",
      tasks: job.tasks ?? ["export", "prepare", "synchronize"],
    };
  }
  return jobs;
}

/** Why croner, the scheduler, would refuse `schedule` (a minute of 99, a month of 13), or undefined. */
function cronProblem(schedule: string, timeZone: string): string | undefined {
  try {
    new Cron(schedule, { timezone: timeZone, paused: true }).stop();
    return undefined;
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^CronPattern: /, "");
    return `not a valid cron expression: ${reason}`;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
