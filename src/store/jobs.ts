import type { JobInstance } from "../protocol/api.js";
import type { Driver } from "./driver.js";

interface JobInstanceRecord {
  id: string;
  job: string;
  connector: string;
  mode: string;
  ran_mode: string;
  agent: string | null;
  outcome: string;
  started_at: string;
  finished_at: string;
  batch_id: string | null;
  tasks: string;
  message: string | null;
}

/** `UR_JobInstances`: the history of job runs, newest first when listed. */
export class JobInstanceRepository {
  constructor(private readonly db: Driver) {}

  /** Records one run; recording the same id again changes nothing (an agent's retry). */
  async record(instance: JobInstance): Promise<boolean> {
    const exists = await this.db.get("SELECT 1 AS x FROM UR_JobInstances WHERE id = ?", [instance.id]);
    if (exists !== undefined) return false;
    await this.db.run(
      `INSERT INTO UR_JobInstances (id, job, connector, mode, ran_mode, agent, outcome, started_at, finished_at, batch_id, tasks, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        instance.id,
        instance.job,
        instance.connector,
        instance.mode,
        instance.ranMode,
        instance.agent,
        instance.outcome,
        instance.startedAt,
        instance.finishedAt,
        instance.batchId,
        JSON.stringify(instance.tasks),
        instance.message,
      ],
    );
    return true;
  }

  /** Runs newest first; a page continues before the run `before` (keyset on `seq`, found by the run's id). */
  async list(options: {
    job?: string;
    connectors?: readonly string[];
    before?: string;
    limit: number;
  }): Promise<JobInstance[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (options.before !== undefined) {
      where.push("seq < (SELECT seq FROM UR_JobInstances WHERE id = ?)");
      params.push(options.before);
    }
    if (options.job !== undefined) {
      where.push("job = ?");
      params.push(options.job);
    }
    if (options.connectors !== undefined) {
      where.push(`connector IN (${options.connectors.map(() => "?").join(", ") || "NULL"})`);
      params.push(...options.connectors);
    }
    const rows = await this.db.all<JobInstanceRecord>(
      `SELECT * FROM UR_JobInstances ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`,
      [...params, options.limit],
    );
    return rows.map((r): JobInstance => ({
      id: r.id,
      job: r.job,
      connector: r.connector,
      mode: r.mode as JobInstance["mode"],
      ranMode: r.ran_mode as JobInstance["ranMode"],
      agent: r.agent,
      outcome: r.outcome as JobInstance["outcome"],
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      batchId: r.batch_id,
      tasks: JSON.parse(r.tasks) as JobInstance["tasks"],
      message: r.message,
    }));
  }
}
