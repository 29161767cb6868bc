/**
 * Review and decision on a staged batch (blocked, or a kept preview): approve or reject parts
 * of it, apply exactly what was approved, validate or cancel it whole; and undo an applied
 * batch. Every decision carries who took it (`Actor`) and is journaled (`UR_Decisions`).
 *
 * The consistency rules (README, "Review and decision"):
 * - rejecting a resource's delete rejects the removal of its links; rejecting a resource's
 *   insert rejects the links that need it;
 * - approving a link insert that needs a resource whose insert is rejected is refused;
 * - a batch with decisions and undecided changes is applied only when told what the undecided
 *   ones are (`rest`); a batch without any decision applies whole, as `validate` does;
 * - an incremental is never based on a batch applied in part, nor on an undo: the next run of
 *   the connector is a complete, which proposes the rejected changes again.
 */
import type { Config } from "../config/config.js";
import { requireConnector } from "../config/require-connector.js";
import { SyncupError } from "../errors.js";
import type { DecisionOutcome } from "../protocol/api.js";
import type { ApplyStep } from "../store/apply.js";
import type { ChangeSelection, Decision } from "../store/journal.js";
import type { Store } from "../store/store.js";
import type { BatchRow, ChangeCounts } from "../store/types.js";
import { recordFeed } from "./change-feed.js";
import { localActor, requireBatch } from "./batches.js";
import { batchThresholds, countedScopes } from "./thresholds-check.js";
import type { SyncReport } from "./types.js";

/** Who decides: a named administrator and role on a server, the OS user on the command line. */
export interface Actor {
  readonly id: string;
  readonly role: string;
}

export type { DecisionOutcome } from "../protocol/api.js";

/** The decision part of an applied report. */
export interface ReviewReport {
  readonly approved: number;
  readonly rejected: number;
  readonly partial: boolean;
  /** The thresholds the approved part still crosses, with limit and actual. */
  readonly crossedByApproved: SyncReport["crossed"];
  /** Who took the batch's decisions, in order. */
  readonly decidedBy: readonly string[];
}

export type ReviewedReport = Omit<SyncReport, "state"> & {
  readonly state: SyncReport["state"];
  readonly review?: ReviewReport;
  readonly undoOf?: string;
};

const DECIDABLE = ["blocked", "previewed"] as const;
const EXAMPLES = 5;

function requireDecidable(batch: BatchRow, action: string): void {
  if (!(DECIDABLE as readonly string[]).includes(batch.state)) {
    throw new SyncupError(
      "BATCH_STATE",
      `Batch ${batch.id} is ${batch.state}: only a blocked or previewed batch can be ${action}.`,
    );
  }
}

/** Runs `fn` holding the batch's connector lock, on the batch as it is once the lock is held. */
export async function withBatch<T>(
  store: Store,
  id: string,
  fn: (batch: BatchRow) => Promise<T>,
): Promise<T> {
  const first = await requireBatch(store, id);
  const release = await store.lockConnector(first.connector);
  try {
    return await fn(await requireBatch(store, id));
  } finally {
    await release();
  }
}

/** A preview is out of date once a later batch of its connector was applied. */
async function requireCurrent(store: Store, batch: BatchRow): Promise<void> {
  if (batch.state !== "previewed") return;
  const last = await store.batches.lastApplied(batch.connector);
  if (last !== undefined && last.seq > batch.seq) {
    throw new SyncupError(
      "BATCH_SUPERSEDED",
      `Preview ${batch.id} is out of date: batch ${last.id} of connector "${batch.connector}" was applied after it. Run the preview again.`,
    );
  }
}

/** Checks that every id or key a selection names is a change of the batch. */
async function requireSelected(store: Store, batch: BatchRow, selection: ChangeSelection): Promise<number> {
  const matched = await store.journal.count(batch.id, selection);
  const total = matched.resources + matched.links;
  const listed = selection.ids ?? selection.keys;
  if (listed !== undefined) {
    const found = await store.journal.listedFound(batch.id, selection);
    const missing = [...new Set(listed)].filter((item) => !found.has(item));
    if (missing.length > 0) {
      throw new SyncupError(
        "CHANGE_NOT_FOUND",
        `${missing.length} of the ${selection.ids !== undefined ? "change ids" : "keys"} given are not changes of batch ${batch.id} that match the selection, e.g. ${missing
          .slice(0, EXAMPLES)
          .map((m) => `"${m}"`)
          .join(", ")}. Nothing was decided.`,
      );
    }
  }
  if (total === 0) {
    throw new SyncupError(
      "SELECTION_EMPTY",
      `No change of batch ${batch.id} matches the selection. Nothing was decided; \`syncup batches changes ${batch.id}\` lists them.`,
    );
  }
  return total;
}

/** The decisions by which an approver signs a batch off (the four-eyes rule counts their principals). */
const SIGNING = ["approve", "reject", "apply", "validate", "sign-off"];

/**
 * The four-eyes rule: with `approvers` 2, a batch is applied only once two different
 * principals have decided on it. The first one's apply or validate is recorded as a sign-off
 * and refused (SECOND_APPROVER_REQUIRED); the second one's goes through.
 */
async function requireApprovers(
  store: Store,
  batch: BatchRow,
  actor: Actor,
  approvers: number,
  action: string,
): Promise<void> {
  if (approvers < 2) return;
  const principals = new Set(
    (await store.journal.decisions(batch.id))
      .filter((d) => SIGNING.includes(d.action))
      .map((d) => d.principal),
  );
  principals.add(actor.id);
  if (principals.size >= approvers) return;
  await store.journal.record(batch.id, {
    principal: actor.id,
    role: actor.role,
    action: "sign-off",
    changes: 0,
    note: `asked to ${action}; waits for a second approver`,
  });
  throw new SyncupError(
    "SECOND_APPROVER_REQUIRED",
    `Connector "${batch.connector}" needs two approvers: ${actor.id}'s sign-off of batch ${batch.id} is recorded, and another approver must ${action} it too. Nothing was applied.`,
  );
}

async function requireConsistent(store: Store, batchId: string): Promise<void> {
  const broken = await store.journal.brokenLinkInserts(batchId, EXAMPLES);
  if (broken.length === 0) return;
  const list = broken.map((b) => `${b.association} ${b.key1} → ${b.key2} needs ${b.entityType} "${b.pk}"`);
  throw new SyncupError(
    "DECISION_INCONSISTENT",
    `Link inserts would be applied without the resource they need, whose insert is rejected: ${list.join("; ")}. Approve those resources' inserts, or reject the links. Nothing was decided.`,
  );
}

/** Approves or rejects the selected changes of a blocked or previewed batch. */
export function decideBatch(
  store: Store,
  id: string,
  actor: Actor,
  decision: Decision,
  selection: ChangeSelection,
): Promise<DecisionOutcome> {
  const verb = decision === "approved" ? "approved" : "rejected";
  return withBatch(store, id, async (batch) => {
    requireDecidable(batch, `${verb} in part`);
    await requireCurrent(store, batch);
    const matched = await requireSelected(store, batch, selection);
    await store.transaction(async () => {
      await store.journal.decide(batch.id, decision, selection);
      if (decision === "rejected") await store.journal.rejectDependents(batch.id);
      await requireConsistent(store, batch.id);
      await store.journal.record(batch.id, {
        principal: actor.id,
        role: actor.role,
        action: decision === "approved" ? "approve" : "reject",
        changes: matched,
        selection,
      });
    });
    return { ...(await store.journal.tally(batch.id)), matched };
  });
}

export interface ApplyDecidedOptions {
  /** What the changes without a decision become; required when some changes were decided and some not. */
  readonly rest?: Decision;
  readonly beforeApplyStep?: (step: ApplyStep) => void | Promise<void>;
}

/**
 * Applies a blocked or previewed batch as decided, in one transaction: its approved changes
 * (and, with `rest`, its undecided ones) and nothing recomputed. The batch ends `applied`,
 * partial when some changes were rejected; its report says which thresholds the approved part
 * still crosses and who decided.
 */
export function applyDecided(
  store: Store,
  config: Config,
  id: string,
  actor: Actor,
  options: ApplyDecidedOptions = {},
): Promise<ReviewedReport> {
  return withBatch(store, id, async (batch) => {
    requireDecidable(batch, "applied");
    await requireCurrent(store, batch);
    const tally = await store.journal.tally(batch.id);
    if (tally.undecided > 0 && tally.approved + tally.rejected > 0 && options.rest === undefined) {
      throw new SyncupError(
        "DECISION_INCOMPLETE",
        `Batch ${batch.id} has ${tally.undecided} changes without a decision (${tally.approved} approved, ${tally.rejected} rejected): approve or reject them, or say what they become (--rest approve|reject, or "rest" in the API). Nothing was applied.`,
      );
    }
    const connector = requireConnector(config, batch.connector);
    await requireApprovers(store, batch, actor, connector.review.approvers, "apply");
    const held = await store.counts.held(connector.name, countedScopes(config, connector));
    return store.transaction(async () => {
      if (options.rest !== undefined) {
        const undecided: ChangeSelection = { decision: "undecided" };
        await store.journal.decide(batch.id, options.rest, undecided);
        if (options.rest === "rejected") await store.journal.rejectDependents(batch.id);
      }
      await requireConsistent(store, batch.id);
      const final = await store.journal.tally(batch.id);
      const checks = await batchThresholds(store, connector, batch.id, held, { taken: true });
      const counts = await takenCounts(store, batch);
      await store.journal.record(batch.id, {
        principal: actor.id,
        role: actor.role,
        action: "apply",
        changes: final.approved + final.undecided,
        selection: options.rest === undefined ? null : { rest: options.rest },
      });
      const decidedBy = [...new Set((await store.journal.decisions(batch.id)).map((d) => d.principal))];
      const review: ReviewReport = {
        approved: final.approved + final.undecided,
        rejected: final.rejected,
        partial: final.rejected > 0,
        crossedByApproved: checks.filter((c) => c.crossed),
        decidedBy,
      };
      const report = appliedReport(batch, review);
      await store.applier.apply(batch.id, batch.connector, options.beforeApplyStep);
      await recordFeed(store, config, batch.id);
      if (
        !(await store.batches.setState(
          batch.id,
          "applied",
          { report, counts, decided: { approved: review.approved, rejected: review.rejected } },
          batch.state,
        ))
      ) {
        throw new SyncupError("BATCH_STATE", `Batch ${batch.id} changed state while being applied.`);
      }
      return report;
    });
  });
}

function appliedReport(batch: BatchRow, review: ReviewReport): ReviewedReport {
  const staged = batch.report as SyncReport | null;
  if (staged === null) throw new SyncupError("INTERNAL", `Batch ${batch.id} has no report.`);
  return { ...staged, state: "applied", dryRun: false, finishedAt: new Date().toISOString(), review };
}

/** The counts of the changes an apply takes. */
export async function takenCounts(store: Store, batch: BatchRow): Promise<ChangeCounts> {
  const counts = await store.changes.counts(batch.id, { taken: true });
  const sum = (rows: typeof counts.resources, operation: string) =>
    rows.filter((r) => r.operation === operation).reduce((s, r) => s + Number(r.n), 0);
  return {
    resourcesInserted: sum(counts.resources, "insert"),
    resourcesUpdated: sum(counts.resources, "update"),
    resourcesDeleted: sum(counts.resources, "delete"),
    linksInserted: sum(counts.links, "insert"),
    linksDeleted: sum(counts.links, "delete"),
    orphans: batch.orphans,
  };
}

/**
 * Applies a blocked or previewed batch whole: every change approved (a rejection before is
 * overridden), thresholds not checked again, nothing recomputed.
 */
export function validateBatch(
  store: Store,
  id: string,
  options: {
    /** The connector's review settings (two approvers) and the change feed's. */
    config: Config;
    actor?: Actor;
    beforeApplyStep?: (step: ApplyStep) => void | Promise<void>;
  },
): Promise<ReviewedReport> {
  const actor = options.actor ?? localActor();
  return withBatch(store, id, async (batch) => {
    requireDecidable(batch, "validated");
    await requireCurrent(store, batch);
    const approvers = options.config.connectors[batch.connector]?.review.approvers ?? 1;
    await requireApprovers(store, batch, actor, approvers, "validate");
    return store.transaction(async () => {
      const tally = await store.journal.tally(batch.id);
      const all = tally.approved + tally.rejected + tally.undecided;
      if (tally.rejected > 0) await store.journal.decide(batch.id, "approved", { decision: "rejected" });
      await store.journal.record(batch.id, {
        principal: actor.id,
        role: actor.role,
        action: "validate",
        changes: all,
      });
      const decidedBy = [...new Set((await store.journal.decisions(batch.id)).map((d) => d.principal))];
      const staged = batch.report as SyncReport | null;
      const report = appliedReport(batch, {
        approved: all,
        rejected: 0,
        partial: false,
        crossedByApproved: staged?.crossed ?? [],
        decidedBy,
      });
      const counts = await takenCounts(store, batch);
      await store.applier.apply(batch.id, batch.connector, options.beforeApplyStep);
      await recordFeed(store, options.config, batch.id);
      if (!(await store.batches.setState(batch.id, "applied", { report, counts }, batch.state))) {
        throw new SyncupError("BATCH_STATE", `Batch ${batch.id} changed state while being validated.`);
      }
      return report;
    });
  });
}

/** Discards a blocked or previewed batch's staged changes; nothing reaches the repository. */
export function cancelBatch(store: Store, id: string, actor: Actor = localActor()): Promise<BatchRow> {
  return withBatch(store, id, async (batch) => {
    requireDecidable(batch, "cancelled");
    const tally = await store.journal.tally(batch.id);
    await store.transaction(async () => {
      if (!(await store.batches.setState(batch.id, "cancelled", {}, batch.state))) {
        throw new SyncupError("BATCH_STATE", `Batch ${batch.id} changed state while being cancelled.`);
      }
      await store.journal.record(batch.id, {
        principal: actor.id,
        role: actor.role,
        action: "cancel",
        changes: tally.approved + tally.rejected + tally.undecided,
      });
      await store.changes.discard(batch.id);
    });
    return { ...batch, state: "cancelled" };
  });
}

/**
 * Whether an incremental may be based on the connector's last applied batch: not when it was
 * applied in part (its rejected changes would be lost) nor when it is an undo (the repository
 * no longer holds what `previous/` says). Then the next run must be a complete.
 */
export function incrementalBaseRefusal(last: BatchRow | undefined): string | null {
  if (last === undefined) return null;
  if (last.partial)
    return `the last batch applied to connector "${last.connector}", ${last.id}, was applied in part: a complete synchronization proposes its rejected changes again`;
  if (last.undoOf !== null)
    return `the last batch applied to connector "${last.connector}", ${last.id}, undid batch ${last.undoOf}: a complete synchronization brings the repository back to its source`;
  return null;
}
