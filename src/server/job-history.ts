/**
 * The history of job runs that agents record on the server (`UR_JobInstances`): an agent records
 * its runs under its own id and sees its connectors' runs only; the administrator sees all.
 */
import type { JobInstance } from "../protocol/api.js";
import type { Store } from "../store/store.js";
import { requireConnector, type Principal } from "./auth.js";
import type { Mutex } from "./mutex.js";

export class JobHistoryService {
  constructor(private readonly deps: { readonly store: Store; readonly mutex: Mutex }) {}

  /** Records a run (an agent's, under its own id); recording one id again changes nothing. */
  async record(principal: Principal, run: JobInstance): Promise<{ instance: JobInstance; created: boolean }> {
    requireConnector(principal, run.connector);
    const instance = { ...run, agent: principal.kind === "agent" ? principal.id : run.agent };
    const created = await this.deps.mutex.run(() => this.deps.store.jobs.record(instance));
    return { instance, created };
  }

  /** Runs, newest first: of one job, and of the principal's connectors if it is an agent; `before` pages. */
  list(
    principal: Principal,
    query: { job?: string; before?: string; limit: number },
  ): Promise<JobInstance[]> {
    return this.deps.mutex.run(() =>
      this.deps.store.jobs.list({
        ...query,
        ...(principal.kind === "agent" ? { connectors: principal.connectors } : {}),
      }),
    );
  }
}
