/**
 * The connectors at a glance, for the console's first page: each connector's state, its last
 * batch of each mode, what it holds (resources by entity type, pending pairs by association),
 * why it is blocked (the thresholds crossed, in words) and its next scheduled job. Blocked
 * connectors come first, then failed ones, then the others by name.
 */
import type { Config } from "../config/config.js";
import { explainCheck, type ThresholdCheck } from "../core/thresholds.js";
import { cronOf } from "../jobs/scheduler.js";
import type { BatchView } from "../protocol/api.js";
import { MODES, type Mode } from "../protocol/mode.js";
import type { Store } from "../store/store.js";
import type { BatchRow } from "../store/types.js";
import { batchCounts } from "./batch-view.js";
import type { Mutex } from "./mutex.js";

export type ConnectorState = "blocked" | "failed" | "running" | "waiting" | "applied" | "never run";

/** A batch as the overview shows it. */
export interface BatchSummary {
  readonly id: string;
  readonly seq: number;
  readonly mode: Mode;
  readonly state: string;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly counts: BatchView["counts"];
  readonly error: string | null;
}

export interface ConnectorOverview {
  readonly name: string;
  readonly state: ConnectorState;
  /** The blocked batch and the thresholds it crossed, each in words. */
  readonly blocked: {
    readonly batch: BatchSummary;
    readonly crossed: readonly (ThresholdCheck & { readonly words: string })[];
  } | null;
  /** The newest batch of each mode (any state), null for a mode never run. */
  readonly lastBatches: Readonly<Record<Mode, BatchSummary | null>>;
  readonly resources: readonly { readonly entityType: string; readonly count: number }[];
  /** Pairs of the last exports that are not links yet (an end not found), by association. */
  readonly orphans: readonly { readonly association: string; readonly count: number }[];
  /** Batches received and waiting for their turn (notified, sealed, staging). */
  readonly pending: number;
  readonly nextJob: { readonly job: string; readonly mode: Mode; readonly at: string } | null;
}

const ORDER: Readonly<Record<ConnectorState, number>> = {
  blocked: 0,
  failed: 1,
  running: 2,
  waiting: 3,
  applied: 4,
  "never run": 5,
};

export class OverviewService {
  constructor(
    private readonly deps: { readonly config: Config; readonly store: Store; readonly mutex: Mutex },
  ) {}

  /** Every connector of the configuration, blocked ones first. */
  async connectors(now = new Date()): Promise<ConnectorOverview[]> {
    const names = Object.keys(this.deps.config.connectors);
    const all = await this.deps.mutex.run(async () => {
      const out: ConnectorOverview[] = [];
      for (const name of names) out.push(await this.connector(name, now));
      return out;
    });
    return all.sort((a, b) => ORDER[a.state] - ORDER[b.state] || a.name.localeCompare(b.name));
  }

  private async connector(name: string, now: Date): Promise<ConnectorOverview> {
    const { store } = this.deps;
    const lastBatches = {} as Record<Mode, BatchSummary | null>;
    for (const mode of MODES) {
      const [newest] = await store.batches.list({ connector: name, mode, limit: 1 });
      lastBatches[mode] = newest === undefined ? null : summaryOf(newest);
    }
    const blockedRow = await store.batches.blocked(name);
    const queued = await store.batches.inStates(name, ["notified", "sealed", "staging"]);
    const [newest] = await store.batches.list({ connector: name, limit: 1 });
    const resources = [...(await store.resources.countByEntityType(name))]
      .map(([entityType, count]) => ({ entityType, count }))
      .sort((a, b) => a.entityType.localeCompare(b.entityType));
    const orphans = [...(await store.pending.counts(name))]
      .map(([association, count]) => ({ association, count }))
      .sort((a, b) => a.association.localeCompare(b.association));
    return {
      name,
      state: stateOf(blockedRow, queued, newest),
      blocked:
        blockedRow === undefined ? null : { batch: summaryOf(blockedRow), crossed: crossedOf(blockedRow) },
      lastBatches,
      resources,
      orphans,
      pending: queued.length,
      nextJob: this.nextJob(name, now),
    };
  }

  /** The connector's scheduled job that runs next after `now`. */
  private nextJob(connector: string, now: Date): ConnectorOverview["nextJob"] {
    let next: ConnectorOverview["nextJob"] = null;
    for (const job of Object.values(this.deps.config.jobs)) {
      if (job.connector !== connector || job.schedule === null) continue;
      const at = cronOf({ ...job, schedule: job.schedule }).nextRun(now);
      if (at !== null && (next === null || at.toISOString() < next.at)) {
        next = { job: job.name, mode: job.mode, at: at.toISOString() };
      }
    }
    return next;
  }
}

function stateOf(
  blocked: BatchRow | undefined,
  queued: readonly BatchRow[],
  newest: BatchRow | undefined,
): ConnectorState {
  if (blocked !== undefined) return "blocked";
  if (queued.some((b) => b.state === "staging")) return "running";
  if (queued.length > 0) return "waiting";
  if (newest === undefined) return "never run";
  return newest.state === "failed" ? "failed" : "applied";
}

function crossedOf(batch: BatchRow): (ThresholdCheck & { words: string })[] {
  const report = batch.report as { crossed?: readonly ThresholdCheck[] } | null;
  return (report?.crossed ?? []).map((check) => ({ ...check, words: explainCheck(check) }));
}

/** A batch row as the console's lists show it. */
export function summaryOf(batch: BatchRow): BatchSummary {
  return {
    id: batch.id,
    seq: batch.seq,
    mode: batch.mode,
    state: batch.state,
    createdAt: batch.createdAt,
    finishedAt: batch.finishedAt,
    counts: batchCounts(batch),
    error: batch.error,
  };
}
