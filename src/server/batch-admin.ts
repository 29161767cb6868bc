/**
 * The API's batches beyond the transfer protocol: a batch's detail with the changes it staged
 * and its decision journal, pages of those changes before → after, and the administrators'
 * decisions — approve or reject parts, apply as decided, validate or cancel whole, undo. Reads
 * run under the API connection's mutex; a decision is the worker's, on its own connection, so
 * that it waits for the batch being synchronized.
 */
import { SyncupError } from "../errors.js";
import type { BatchDetail, BatchView, ChangePage, HistoryEntry } from "../protocol/api.js";
import type { ChangePageQuery } from "../store/change-pages.js";
import type { ChangeSelection, Decision } from "../store/journal.js";
import type { Store } from "../store/store.js";
import { batchSummary, resourceHistory } from "../sync/inspect.js";
import { requireBatch } from "../sync/batches.js";
import type { Actor, DecisionOutcome, ReviewedReport } from "../sync/review.js";
import type { Principal } from "./auth.js";
import type { Mutex } from "./mutex.js";
import type { TransferService } from "./transfer.js";
import type { BatchWorker } from "./worker.js";

export interface BatchAdminDeps {
  readonly store: Store;
  readonly mutex: Mutex;
  readonly transfer: TransferService;
  readonly worker: Pick<BatchWorker, "validate" | "cancel" | "decide" | "apply" | "undo">;
}

export class BatchAdminService {
  constructor(private readonly deps: BatchAdminDeps) {}

  /** A batch the principal may see, its files and report, its changes per scope and operation, its decisions. */
  async detail(principal: Principal, id: string): Promise<BatchDetail> {
    const view = await this.deps.transfer.view(principal, id);
    return this.deps.mutex.run(async () => ({
      ...view,
      changes: await batchSummary(this.deps.store, id),
      decisions: (await this.deps.store.journal.decisions(id)).map((d) => ({
        principal: d.principal,
        role: d.role,
        at: d.at,
        action: d.action,
        changes: d.changes,
        selection: d.selection,
        note: d.note,
      })),
    }));
  }

  /** A page of a batch's staged changes (or, once applied, its journal), before → after. */
  changes(id: string, query: ChangePageQuery): Promise<ChangePage> {
    return this.deps.mutex.run(async () => {
      await requireBatch(this.deps.store, id);
      return this.deps.store.changePages.page(id, query);
    });
  }

  /** The journal of a resource (by id) or of a key of a connector (a deleted resource's too). */
  history(target: { id: number } | { connector: string; key: string }): Promise<HistoryEntry[]> {
    const { store } = this.deps;
    return this.deps.mutex.run(async () => {
      if ("connector" in target) return resourceHistory(store, target.connector, target.key);
      const row = await store.resources.byId(target.id);
      if (row === undefined) {
        throw new SyncupError(
          "RESOURCE_NOT_FOUND",
          `No resource has id ${target.id}: it may have been deleted since. Ask for its key's history instead (GET /api/v1/history?connector=…&key=…).`,
        );
      }
      return resourceHistory(store, row.connector, row.pk);
    });
  }

  decide(id: string, actor: Actor, decision: Decision, selection: ChangeSelection): Promise<DecisionOutcome> {
    return this.deps.worker.decide(id, actor, decision, selection);
  }

  apply(id: string, actor: Actor, rest?: Decision): Promise<ReviewedReport> {
    return this.deps.worker.apply(id, actor, rest);
  }

  /** Applies a blocked or previewed batch whole. */
  validate(id: string, actor: Actor): Promise<ReviewedReport> {
    return this.deps.worker.validate(id, actor);
  }

  undo(id: string, actor: Actor, force: boolean): Promise<ReviewedReport> {
    return this.deps.worker.undo(id, actor, force);
  }

  /** Discards a blocked or previewed batch; answers it as the API shows batches. */
  async cancel(id: string, actor: Actor): Promise<BatchView> {
    const batch = await this.deps.worker.cancel(id, actor);
    return this.deps.mutex.run(() => this.deps.transfer.viewOf(batch));
  }
}
