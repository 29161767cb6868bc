/**
 * The server's side of the batch protocol: notify, upload, seal, abandon. Every state change
 * runs under the API connection's mutex, so that two requests about one batch (an agent's
 * retry racing its first attempt) see each other's effects in order.
 *
 * Files land under `<batchDir>/<batch id>/`: streamed to a temporary name while hashed,
 * checked against the announced SHA-256, then renamed and recorded. The database row is the
 * proof a file arrived; a file on disk without its row (a crash between the two) is simply
 * uploaded again.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Config } from "../config/config.js";
// The configuration's lookup; `requireConnector` here is the caller's access (`./auth.ts`).
import { requireConnector as configuredConnector } from "../config/require-connector.js";
import { newBatchId } from "../protocol/batch-states.js";
import { SyncupError } from "../errors.js";
import type {
  BatchFile,
  BatchView,
  ConnectorStatus,
  NotifyRequest,
  NotifyResponse,
  SealRequest,
} from "../protocol/api.js";
import type { Store } from "../store/store.js";
import type { BatchListFilter } from "../store/batches.js";
import type { BatchRow, BatchState } from "../store/types.js";
import { requireBatch } from "../sync/batches.js";
import { blockedError } from "../sync/synchronize.js";
import { requireConnector, type Principal } from "./auth.js";
import { batchHead, batchView } from "./batch-view.js";
import { ACCEPTED_STATES, checkIncrementalBase } from "./incremental-base.js";
import type { ServerMetrics } from "./metrics.js";
import type { Mutex } from "./mutex.js";
import { checkAnnounced, checkFileName, receiveFile } from "./received-file.js";
import { checkManifest, checkSealFiles } from "./seal-check.js";

/** States of a batch its agent is still working on, or that waits for the queue. */
const PENDING_STATES: readonly BatchState[] = ["notified", "sealed"];

export interface TransferDeps {
  readonly config: Config;
  readonly store: Store;
  readonly mutex: Mutex;
  readonly metrics: ServerMetrics;
  /** Tells the worker a batch may be ready. */
  readonly wake: () => void;
}

export class TransferService {
  constructor(private readonly deps: TransferDeps) {}

  private get store(): Store {
    return this.deps.store;
  }

  batchDir(id: string): string {
    return join(this.deps.config.server.batchDir, id);
  }

  /**
   * A new batch for `request.connector`; a complete one cancels the connector's pending
   * incrementals. `created` is false when `request.id` names a batch this notification
   * already made (a retry).
   */
  async notify(principal: Principal, request: NotifyRequest): Promise<NotifyResponse & { created: boolean }> {
    const connector = configuredConnector(this.deps.config, request.connector, { listOthers: false });
    requireConnector(principal, connector.name);
    return this.deps.mutex.run(async () => {
      const id = request.id ?? newBatchId();
      const retried = await this.store.batches.get(id);
      if (retried !== undefined) {
        return { ...this.sameNotification(principal, request, retried), created: false };
      }
      const cancelled: string[] = [];
      if (request.mode === "incremental") {
        const blocked = await this.store.batches.blocked(connector.name);
        if (blocked !== undefined) throw blockedError(blocked);
        await checkIncrementalBase(this.store, connector.name, request.baseBatch);
      }
      // A dry run changes nothing, and so makes no pending batch moot.
      if (request.mode !== "incremental" && request.dryRun !== true) {
        for (const batch of await this.store.batches.inStates(connector.name, PENDING_STATES)) {
          if (batch.mode !== "incremental") continue;
          const reason = `cancelled by complete batch ${id}, notified after it`;
          if (await this.store.batches.setState(batch.id, "cancelled", { error: reason }, batch.state)) {
            cancelled.push(batch.id);
          }
        }
      }
      await mkdir(this.batchDir(id), { recursive: true });
      await this.store.batches.create({
        id,
        connector: connector.name,
        mode: request.mode,
        dryRun: request.dryRun === true,
        forced: false,
        source: null,
        preparedAt: null,
        baseBatch: request.mode === "incremental" ? request.baseBatch : null,
        agent: principal.id,
      });
      return { ...batchHead(await requireBatch(this.store, id)), cancelled, created: true };
    });
  }

  /** The answer to a retried notification: the batch it made, if it is the same notification. */
  private sameNotification(principal: Principal, request: NotifyRequest, batch: BatchRow): NotifyResponse {
    const base = request.mode === "incremental" ? request.baseBatch : null;
    if (
      batch.connector !== request.connector ||
      batch.mode !== request.mode ||
      batch.agent !== principal.id ||
      batch.baseBatch !== base
    ) {
      throw new SyncupError(
        "BATCH_STATE",
        `Batch id ${batch.id} is already used by another notification (${batch.mode} of "${batch.connector}"): choose a new id.`,
      );
    }
    return { ...batchHead(batch), cancelled: [] };
  }

  /**
   * Stores one file of a notified batch. Returns it with `created` false when the same file
   * (same name, same SHA-256) was already there: a retry is a no-op.
   */
  async upload(
    principal: Principal,
    id: string,
    name: string,
    announced: string | undefined,
    body: Readable,
  ): Promise<BatchFile & { created: boolean }> {
    try {
      const batch = await this.ownBatch(principal, id);
      checkFileName(batch, this.deps.config.connectors[batch.connector], name);
      checkAnnounced(name, announced);
      const existing = (await this.store.batches.files(id)).find((f) => f.name === name);
      if (existing !== undefined) return { ...retried(batch, existing, name, announced), created: false };
      if (batch.state !== "notified") throw notNotified(batch, `receive "${name}"`);
      const dir = this.batchDir(id);
      await mkdir(dir, { recursive: true });
      const part = join(dir, `.${name}.${randomBytes(4).toString("hex")}.part`);
      try {
        const { sha256, bytes } = await receiveFile(body, part, name, this.deps.config.server.maxFileBytes);
        if (sha256 !== announced) {
          throw new SyncupError(
            "FILE_CHECKSUM_MISMATCH",
            `Upload of "${name}": the ${bytes} bytes received have SHA-256 ${sha256}, not ${announced} as announced: the transfer was cut or corrupted. Send it again.`,
          );
        }
        this.deps.metrics.bytes(bytes);
        return await this.deps.mutex.run(async () => {
          const now = await requireBatch(this.store, id);
          const raced = (await this.store.batches.files(id)).find((f) => f.name === name);
          if (raced !== undefined) return { ...retried(now, raced, name, announced), created: false };
          if (now.state !== "notified") throw notNotified(now, `receive "${name}"`);
          await rename(part, join(dir, name));
          const file = { name, sha256, bytes };
          await this.store.batches.addFile(id, file);
          return { ...file, created: true };
        });
      } finally {
        await rm(part, { force: true });
      }
    } finally {
      if (!body.readableEnded) body.resume();
    }
  }

  /** Seals a batch whose files are all uploaded; sealing again answers the batch as it is. */
  async seal(principal: Principal, id: string, request: SealRequest): Promise<BatchView> {
    await this.ownBatch(principal, id);
    const view = await this.deps.mutex.run(async () => {
      const batch = await requireBatch(this.store, id);
      const held = new Map((await this.store.batches.files(id)).map((f) => [f.name, f]));
      checkSealFiles(id, held, request.files);
      if (batch.state === "notified") {
        await checkManifest(batch, held, this.batchDir(id));
        await this.store.batches.seal(id, this.batchDir(id));
      } else if (batch.state === "cancelled" && batch.sealedAt === null) {
        throw notNotified(batch, "be sealed");
      }
      return this.viewOf(await requireBatch(this.store, id));
    });
    this.deps.wake();
    return view;
  }

  /** An agent gives up a batch it has not sealed. */
  async abandon(principal: Principal, id: string): Promise<BatchView> {
    await this.ownBatch(principal, id);
    const view = await this.deps.mutex.run(async () => {
      const batch = await requireBatch(this.store, id);
      if (batch.state === "notified") {
        await this.store.batches.setState(
          id,
          "cancelled",
          { error: `abandoned by agent ${principal.id}` },
          "notified",
        );
      } else if (batch.state !== "cancelled") {
        throw new SyncupError(
          "BATCH_STATE",
          `Batch ${id} is ${batch.state}: only a batch not yet sealed can be abandoned.`,
        );
      }
      return this.viewOf(await requireBatch(this.store, id));
    });
    await rm(this.batchDir(id), { recursive: true, force: true });
    this.deps.wake();
    return view;
  }

  async view(principal: Principal, id: string): Promise<BatchView> {
    const batch = await this.deps.mutex.run(() => requireBatch(this.store, id));
    requireConnector(principal, batch.connector);
    return this.deps.mutex.run(async () => ({ ...(await this.viewOf(batch)), report: batch.report }));
  }

  /** Batches newest first, filtered (`BatchListFilter`); an agent's of its connectors only. */
  async list(
    principal: Principal,
    query: Omit<BatchListFilter, "connectors"> & { limit: number },
  ): Promise<BatchView[]> {
    if (query.connector !== undefined) requireConnector(principal, query.connector);
    return this.deps.mutex.run(async () => {
      const rows = await this.store.batches.list({
        ...query,
        ...(principal.kind === "agent" ? { connectors: principal.connectors } : {}),
      });
      return Promise.all(rows.map((b) => this.viewOf(b)));
    });
  }

  async connectorStatus(principal: Principal, name: string): Promise<ConnectorStatus> {
    configuredConnector(this.deps.config, name, { listOthers: false });
    requireConnector(principal, name);
    return this.deps.mutex.run(async () => ({
      connector: name,
      lastAccepted: (await this.store.batches.newestIn(name, ACCEPTED_STATES))?.id ?? null,
      lastApplied: (await this.store.batches.lastApplied(name))?.id ?? null,
      blocked: (await this.store.batches.blocked(name))?.id ?? null,
      pending: (await this.store.batches.inStates(name, [...PENDING_STATES, "staging"])).length,
    }));
  }

  async viewOf(batch: BatchRow): Promise<BatchView> {
    return batchView(batch, await this.store.batches.files(batch.id));
  }

  /** The batch, if the caller may act on its connector. */
  private async ownBatch(principal: Principal, id: string): Promise<BatchRow> {
    const batch = await this.deps.mutex.run(() => requireBatch(this.store, id));
    requireConnector(principal, batch.connector);
    if (principal.kind === "agent" && batch.agent !== principal.id) {
      throw new SyncupError(
        "FORBIDDEN",
        `Batch ${id} was notified by agent "${batch.agent ?? "(local)"}", not "${principal.id}".`,
      );
    }
    return batch;
  }
}

/**
 * The answer to an upload of a file the batch already holds: acknowledged when it is the same
 * file (a retry) of a batch the server still keeps (one abandoned — cancelled, failed,
 * superseded — keeps no files), refused when it is another.
 */
function retried(batch: BatchRow, existing: BatchFile, name: string, announced: string): BatchFile {
  if (batch.state !== "notified" && !ACCEPTED_STATES.includes(batch.state)) {
    throw notNotified(batch, `receive "${name}"`);
  }
  if (existing.sha256 !== announced) {
    throw new SyncupError(
      "FILE_CONFLICT",
      `The batch already holds "${name}" with SHA-256 ${existing.sha256}; a different file (${announced}) cannot replace it. Notify a new batch.`,
    );
  }
  return existing;
}

function notNotified(batch: BatchRow, action: string): SyncupError {
  return new SyncupError(
    "BATCH_STATE",
    `Batch ${batch.id} is ${batch.state}${batch.error === null ? "" : ` (${batch.error})`}: it can no longer ${action}.`,
  );
}
