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
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { mappingsOf, type Config } from "../config/config.js";
// The configuration's lookup; `requireConnector` here is the caller's access (`./auth.ts`).
import { requireConnector as configuredConnector } from "../config/require-connector.js";
import { newBatchId } from "../protocol/batch-states.js";
import { SyncupError } from "../errors.js";
import { PREPARED_SUFFIX } from "../protocol/manifest.js";
import {
  FILE_NAME_PATTERN,
  type BatchFile,
  type BatchView,
  type ConnectorStatus,
  type NotifyRequest,
  type NotifyResponse,
  type SealRequest,
} from "../protocol/api.js";
import { parsePrepareManifestJson, type PrepareManifest } from "../protocol/manifest.js";
import type { Store } from "../store/store.js";
import type { BatchListFilter } from "../store/batches.js";
import type { BatchRow, BatchState } from "../store/types.js";
import { requireBatch } from "../sync/batches.js";
import { incrementalBaseRefusal } from "../sync/review.js";
import { blockedError } from "../sync/synchronize.js";
import { requireConnector, type Principal } from "./auth.js";
import type { ServerMetrics } from "./metrics.js";
import type { Mutex } from "./mutex.js";

/** States whose batch an incremental may be based on: sealed by its agent and not discarded. */
export const ACCEPTED_STATES: readonly BatchState[] = ["sealed", "staging", "blocked", "applied"];
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
        await this.checkBase(connector.name, request.baseBatch);
      }
      if (request.mode !== "incremental") {
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
        dryRun: false,
        forced: false,
        source: null,
        preparedAt: null,
        baseBatch: request.mode === "incremental" ? request.baseBatch : null,
        agent: principal.id,
      });
      const batch = await requireBatch(this.store, id);
      return {
        id,
        seq: batch.seq,
        connector: connector.name,
        mode: request.mode,
        state: "notified",
        cancelled,
        created: true,
      };
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
    return {
      id: batch.id,
      seq: batch.seq,
      connector: batch.connector,
      mode: batch.mode,
      state: batch.state,
      cancelled: [],
    };
  }

  /** Drift detection: an incremental must follow the last batch the server accepted. */
  private async checkBase(connector: string, base: string | null): Promise<void> {
    const ahead = (await this.store.batches.inState(connector, "notified")).find(
      (b) => b.mode !== "incremental",
    );
    if (ahead !== undefined) {
      throw new SyncupError(
        "BASE_MISMATCH",
        `A ${ahead.mode} batch ${ahead.id} of "${connector}" is still being uploaded: an incremental batch cannot be based on what it will replace. Run a complete synchronization, or wait for it.`,
      );
    }
    const run = "Run a complete synchronization of the connector.";
    const refusal = incrementalBaseRefusal(await this.store.batches.lastApplied(connector));
    if (refusal !== null)
      throw new SyncupError("BASE_MISMATCH", `No incremental batch now: ${refusal}. ${run}`);
    const last = await this.store.batches.newestIn(connector, ACCEPTED_STATES);
    if (base !== null && last?.id === base) return;
    if (base === null) {
      throw new SyncupError(
        "BASE_MISMATCH",
        `An incremental batch of "${connector}" must name the batch its previous/ came from, and this one names none. ${run}`,
      );
    }
    const based = await this.store.batches.get(base);
    const reason =
      based === undefined
        ? `the server has no batch ${base}: previous/ comes from elsewhere or the repository was restored from an earlier copy`
        : based.connector !== connector
          ? `batch ${base} belongs to connector "${based.connector}"`
          : !ACCEPTED_STATES.includes(based.state)
            ? `batch ${base} was ${based.state}, never applied`
            : `batch ${base} is not the last one accepted (${last?.id ?? "none"}): previous/ is older than the repository`;
    throw new SyncupError("BASE_MISMATCH", `The incremental batch's base does not match: ${reason}. ${run}`);
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
      this.checkName(batch, name);
      if (announced === undefined || !/^[0-9a-f]{64}$/.test(announced)) {
        throw new SyncupError(
          "FILE_CHECKSUM_MISMATCH",
          `Upload of "${name}": the x-content-sha256 header must hold the file's SHA-256 in lowercase hex.`,
        );
      }
      const existing = (await this.store.batches.files(id)).find((f) => f.name === name);
      if (existing !== undefined) return { ...retried(batch, existing, name, announced), created: false };
      if (batch.state !== "notified") throw notNotified(batch, `receive "${name}"`);
      const dir = this.batchDir(id);
      await mkdir(dir, { recursive: true });
      const part = join(dir, `.${name}.${randomBytes(4).toString("hex")}.part`);
      try {
        const { sha256, bytes } = await this.receive(body, part, name);
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

  private async receive(
    body: Readable,
    path: string,
    name: string,
  ): Promise<{ sha256: string; bytes: number }> {
    const limit = this.deps.config.server.maxFileBytes;
    const hash = createHash("sha256");
    let bytes = 0;
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          bytes += chunk.length;
          if (bytes > limit) {
            throw new SyncupError(
              "FILE_TOO_LARGE",
              `"${name}" is larger than the server accepts (${limit} bytes, server.maxFileMiB).`,
            );
          }
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(path, { flags: "wx" }),
    );
    return { sha256: hash.digest("hex"), bytes };
  }

  /** Seals a batch whose files are all uploaded; sealing again answers the batch as it is. */
  async seal(principal: Principal, id: string, request: SealRequest): Promise<BatchView> {
    await this.ownBatch(principal, id);
    const view = await this.deps.mutex.run(async () => {
      const batch = await requireBatch(this.store, id);
      const held = new Map((await this.store.batches.files(id)).map((f) => [f.name, f]));
      for (const file of request.files) {
        const have = held.get(file.name);
        if (have?.sha256 !== file.sha256.toLowerCase()) {
          throw new SyncupError(
            "SEAL_INCOMPLETE",
            have === undefined
              ? `Batch ${id} cannot be sealed: the server has not received "${file.name}". Upload it first.`
              : `Batch ${id} cannot be sealed: "${file.name}" was received with SHA-256 ${have.sha256}, not ${file.sha256}.`,
          );
        }
      }
      if (batch.state === "notified") {
        await this.checkManifest(batch, held);
        await this.store.batches.seal(id, this.batchDir(id));
      } else if (batch.state === "cancelled" && batch.sealedAt === null) {
        throw notNotified(batch, "be sealed");
      }
      return this.viewOf(await requireBatch(this.store, id));
    });
    this.deps.wake();
    return view;
  }

  /** The seal's check of `prepare.json`: the right connector and mode, every file it needs received. */
  private async checkManifest(batch: BatchRow, held: ReadonlyMap<string, BatchFile>): Promise<void> {
    if (!held.has("prepare.json")) {
      throw new SyncupError(
        "SEAL_INCOMPLETE",
        `Batch ${batch.id} cannot be sealed without its prepare.json.`,
      );
    }
    let text: string;
    try {
      text = await readFile(join(this.batchDir(batch.id), "prepare.json"), "utf8");
    } catch (error) {
      throw new SyncupError(
        "SEAL_INCOMPLETE",
        `Batch ${batch.id}: the server cannot read its prepare.json (${(error as NodeJS.ErrnoException).code ?? String(error)}). Upload it again in a new batch.`,
        { cause: error },
      );
    }
    let manifest: PrepareManifest;
    try {
      manifest = parsePrepareManifestJson(text, `prepare.json of batch ${batch.id}`);
    } catch (error) {
      throw new SyncupError(
        "PREPARED_MANIFEST_INVALID",
        `Batch ${batch.id} cannot be sealed: ${(error as Error).message} Upload the prepare.json the agent's prepare wrote, in a new batch.`,
        { cause: error },
      );
    }
    const incremental = batch.mode === "incremental";
    if (manifest.connector !== batch.connector || (manifest.mode === "incremental") !== incremental) {
      throw new SyncupError(
        "SEAL_INCOMPLETE",
        `Batch ${batch.id} was notified as a ${batch.mode} batch of "${batch.connector}", but its prepare.json is a ${manifest.mode} prepare of "${manifest.connector}".`,
      );
    }
    if (incremental && manifest.baseBatch !== batch.baseBatch) {
      throw new SyncupError(
        "SEAL_INCOMPLETE",
        `Batch ${batch.id} was notified with base ${batch.baseBatch ?? "none"}, but its prepare.json was computed from ${manifest.baseBatch ?? "none"}.`,
      );
    }
    const kind = incremental ? "delta" : "sorted";
    for (const entry of manifest.files) {
      if (entry.kind !== kind) continue;
      if (held.get(entry.file)?.sha256 !== entry.sha256) {
        throw new SyncupError(
          "SEAL_INCOMPLETE",
          `Batch ${batch.id} cannot be sealed: prepare.json lists "${entry.file}" (SHA-256 ${entry.sha256}), which the server has not received.`,
        );
      }
    }
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
    return {
      id: batch.id,
      seq: batch.seq,
      connector: batch.connector,
      mode: batch.mode,
      state: batch.state,
      agent: batch.agent,
      baseBatch: batch.baseBatch,
      createdAt: batch.createdAt,
      sealedAt: batch.sealedAt,
      finishedAt: batch.finishedAt,
      counts: {
        resourcesInserted: batch.resourcesInserted,
        resourcesUpdated: batch.resourcesUpdated,
        resourcesDeleted: batch.resourcesDeleted,
        linksInserted: batch.linksInserted,
        linksDeleted: batch.linksDeleted,
        orphans: batch.orphans,
      },
      error: batch.error,
      files: await this.store.batches.files(batch.id),
      undoOf: batch.undoOf,
      partial: batch.partial,
      approved: batch.approved,
      rejected: batch.rejected,
      expiresAt: batch.expiresAt,
    };
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

  /** Only `prepare.json` and the prepared files of the batch's connector: nothing else is written. */
  private checkName(batch: BatchRow, name: string): void {
    const connector = this.deps.config.connectors[batch.connector];
    const allowed =
      FILE_NAME_PATTERN.test(name) &&
      (name === "prepare.json" ||
        (connector !== undefined &&
          mappingsOf(connector).some(
            (m) =>
              name === `${m.name}${PREPARED_SUFFIX.sorted}` || name === `${m.name}${PREPARED_SUFFIX.delta}`,
          )));
    if (!allowed) {
      throw new SyncupError(
        "FILE_NAME_INVALID",
        `"${name}" is not a file a batch of connector "${batch.connector}" may hold: only prepare.json and <mapping>.sorted.csv or <mapping>.sorted.delta of its mappings.`,
      );
    }
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
