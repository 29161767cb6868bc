/**
 * The API's batches beyond the transfer protocol: a batch's detail with the changes it staged,
 * the pages of those changes, and the administrator's decision on a blocked batch (apply it as
 * staged, or discard it). Reads run under the API connection's mutex; a decision is the worker's,
 * on its own connection, so that it waits for the batch being synchronized.
 */
import type { BatchDetail, BatchView } from "../protocol/api.js";
import type { Store } from "../store/store.js";
import type { ChangeFilter, ChangeRow } from "../store/types.js";
import { batchChanges, batchSummary } from "../sync/inspect.js";
import type { SyncReport } from "../sync/index.js";
import type { Principal } from "./auth.js";
import type { Mutex } from "./mutex.js";
import type { TransferService } from "./transfer.js";
import type { BatchWorker } from "./worker.js";

export interface BatchAdminDeps {
  readonly store: Store;
  readonly mutex: Mutex;
  readonly transfer: TransferService;
  readonly worker: Pick<BatchWorker, "validate" | "cancel">;
}

export class BatchAdminService {
  constructor(private readonly deps: BatchAdminDeps) {}

  /** A batch the principal may see, its files and report, and its changes per scope and operation. */
  async detail(principal: Principal, id: string): Promise<BatchDetail> {
    const view = await this.deps.transfer.view(principal, id);
    const changes = await this.deps.mutex.run(() => batchSummary(this.deps.store, id));
    return { ...view, changes };
  }

  /** A page of a batch's staged changes (or, once applied, its journal). */
  changes(id: string, filter: ChangeFilter): Promise<{ rows: ChangeRow[]; total: number }> {
    return this.deps.mutex.run(() => batchChanges(this.deps.store, id, filter));
  }

  /** Applies a blocked batch as staged. */
  validate(id: string): Promise<SyncReport> {
    return this.deps.worker.validate(id);
  }

  /** Discards a blocked batch; answers it as the API shows batches. */
  async cancel(id: string): Promise<BatchView> {
    const batch = await this.deps.worker.cancel(id);
    return this.deps.mutex.run(() => this.deps.transfer.viewOf(batch));
  }
}
