/**
 * The transfer of one connector's prepared files to the server: notify → upload → seal, then
 * accept. `<workDir>/<connector>/transfer.json` records the notified batch from the
 * notification until the seal was confirmed and `previous/` advanced, so that a job that
 * starts after a crash finishes (or drops) the transfer the crash interrupted:
 *
 * ```
 * notify ─▶ transfer.json {preparedAt: null} ─▶ prepare ─▶ transfer.json {preparedAt} ─▶ upload ─▶ seal
 *        ─▶ acceptPrepared (previous/ advances) ─▶ commitState (export's watermark) ─▶ rm transfer.json
 * ```
 *
 * `previous/` advances only after the server confirmed the seal: a failed upload never leaves it
 * ahead of the server.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config, Mode } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { connectorDir, type ManifestFile, type PrepareManifest } from "../prepare/layout.js";
import { acceptPrepared, readPrepared } from "../prepare/previous.js";
import type { BatchState, BatchView } from "../protocol/api.js";
import { sha256File } from "../support/file-hash.js";
import { readJsonIfExists, writeJsonAtomic } from "../support/json-file.js";
import type { ServerClient } from "./client.js";

/** `transfer.json`: the batch notified for the connector's prepared files. */
export interface TransferState {
  readonly batchId: string;
  readonly connector: string;
  readonly mode: Mode;
  /** `prepare.json`'s `preparedAt` once the prepare that fills the batch finished; null before. */
  readonly preparedAt: string | null;
  readonly notifiedAt: string;
}

/** What `sendBatch` did. */
export interface SentBatch {
  readonly batch: BatchView;
  /** Files listed in the seal (prepared files and prepare.json). */
  readonly files: number;
  /** Files uploaded now; the others the server already held. */
  readonly uploaded: number;
  readonly bytesUploaded: number;
}

/** States in which the server holds the sealed batch: the seal was confirmed. */
const CONFIRMED_STATES: readonly BatchState[] = ["sealed", "staging", "applied", "blocked"];

export const PREPARE_MANIFEST = "prepare.json";

export function transferPath(config: Config, connector: string): string {
  return join(connectorDir(config, connector), "transfer.json");
}

export async function readTransfer(config: Config, connector: string): Promise<TransferState | undefined> {
  return readJsonIfExists<TransferState>(transferPath(config, connector));
}

async function dropTransfer(config: Config, connector: string): Promise<void> {
  await rm(transferPath(config, connector), { force: true });
}

export async function readPrepareManifest(config: Config, connector: string): Promise<PrepareManifest> {
  const dir = connectorDir(config, connector);
  const manifest = await readPrepared(dir);
  if (manifest === undefined) {
    throw new SyncupError("PREPARE_NO_OUTPUT", `No prepared files in "${dir}": run "syncup prepare" first.`);
  }
  return manifest;
}

/** The prepared files a batch carries: sorted files (initial, complete) or deltas (incremental). */
export function transferredFiles(manifest: PrepareManifest): ManifestFile[] {
  const kind = manifest.mode === "incremental" ? "delta" : "sorted";
  return manifest.files.filter((f) => f.kind === kind);
}

/**
 * Notifies the server of a batch of `connector` and records it in `transfer.json` before
 * anything else happens. `baseBatch`: for an incremental, the batch `previous/` came from.
 */
export async function notifyBatch(
  client: ServerClient,
  config: Config,
  connector: string,
  mode: Mode,
  baseBatch: string | null,
): Promise<TransferState> {
  const answer = await client.notify({ connector, mode, baseBatch });
  const state: TransferState = {
    batchId: answer.id,
    connector,
    mode,
    preparedAt: null,
    notifiedAt: new Date().toISOString(),
  };
  await mkdir(connectorDir(config, connector), { recursive: true });
  await writeJsonAtomic(transferPath(config, connector), state);
  return state;
}

/** Records in `transfer.json` which prepare fills the batch (prepare.json's `preparedAt`). */
export async function recordPrepared(config: Config, state: TransferState): Promise<TransferState> {
  const manifest = await readPrepareManifest(config, state.connector);
  if (manifest.mode !== state.mode) {
    throw new SyncupError(
      "MODE_MISMATCH",
      `The prepared files of connector "${state.connector}" are ${manifest.mode}, but batch ${state.batchId} was notified as ${state.mode}: prepare again in ${state.mode} mode.`,
    );
  }
  const next = { ...state, preparedAt: manifest.preparedAt };
  await writeJsonAtomic(transferPath(config, state.connector), next);
  return next;
}

/** Abandons the notified batch on the server (DELETE) and forgets it; a batch already gone is fine. */
export async function abandonBatch(
  client: ServerClient,
  config: Config,
  state: TransferState,
  logger: Logger,
  reason: string,
): Promise<void> {
  try {
    await client.abandon(state.batchId);
    logger.info(
      { connector: state.connector, batch: state.batchId },
      `Abandoned batch ${state.batchId}: ${reason}`,
    );
  } catch (error) {
    if (!(error instanceof SyncupError && (error.code === "BATCH_NOT_FOUND" || error.code === "BATCH_STATE")))
      throw error;
  }
  await dropTransfer(config, state.connector);
}

/**
 * The seal was confirmed: advance `previous/` to the prepared files, then the export's
 * incremental state (when this process ran the export), then forget the transfer.
 */
async function confirmSeal(
  config: Config,
  state: TransferState,
  commitState: (() => Promise<void>) | undefined,
): Promise<void> {
  await acceptPrepared(config, state.connector, state.batchId, { preparedAt: state.preparedAt });
  await commitState?.();
  await dropTransfer(config, state.connector);
}

/**
 * Uploads the prepared files of `state`'s batch that the server does not already hold with the
 * same SHA-256, then `prepare.json`, seals the batch, and once the seal is confirmed advances
 * `previous/` and the export state (`commitState`). A batch already sealed (a crash after the
 * seal) is only confirmed.
 */
export async function sendBatch(
  client: ServerClient,
  config: Config,
  state: TransferState,
  options: { readonly logger: Logger; readonly commitState?: () => Promise<void> },
): Promise<SentBatch> {
  const dir = connectorDir(config, state.connector);
  const manifest = await readPrepareManifest(config, state.connector);
  if (state.preparedAt === null || manifest.preparedAt !== state.preparedAt) {
    throw new SyncupError(
      "PREPARED_MANIFEST_INVALID",
      `"${join(dir, PREPARE_MANIFEST)}" is not the prepare batch ${state.batchId} was notified for (prepared at ${manifest.preparedAt}, expected ${state.preparedAt ?? "a prepare after the notification"}).`,
    );
  }
  const files = [
    ...transferredFiles(manifest).map((f) => ({ name: f.file, sha256: f.sha256, path: join(dir, f.file) })),
    {
      name: PREPARE_MANIFEST,
      sha256: await sha256File(join(dir, PREPARE_MANIFEST)),
      path: join(dir, PREPARE_MANIFEST),
    },
  ];
  const current = await client.getBatch(state.batchId);
  if (current === undefined) {
    await dropTransfer(config, state.connector);
    throw new SyncupError(
      "BATCH_NOT_FOUND",
      `The server does not know batch ${state.batchId} of connector "${state.connector}" any more; it will be prepared again.`,
    );
  }
  if (CONFIRMED_STATES.includes(current.state)) {
    await confirmSeal(config, state, options.commitState);
    return { batch: current, files: files.length, uploaded: 0, bytesUploaded: 0 };
  }
  if (current.state !== "notified") {
    await dropTransfer(config, state.connector);
    throw new SyncupError(
      "BATCH_STATE",
      `Batch ${state.batchId} of connector "${state.connector}" is ${current.state} on the server: it cannot be sealed.`,
    );
  }
  const held = new Map(current.files.map((f) => [f.name, f.sha256]));
  let uploaded = 0;
  let bytesUploaded = 0;
  for (const file of files) {
    if (held.get(file.name) === file.sha256) continue;
    try {
      const answer = await client.upload(state.batchId, file.name, file.path, file.sha256);
      uploaded++;
      bytesUploaded += answer.file.bytes;
    } catch (error) {
      throw await explainUploadFailure(error, file);
    }
  }
  const batch = await client.seal(state.batchId, {
    files: files.map(({ name, sha256 }) => ({ name, sha256 })),
  });
  options.logger.info(
    { connector: state.connector, batch: state.batchId, files: files.length, uploaded },
    `Sealed batch ${state.batchId} of connector "${state.connector}" (${files.length} files, ${uploaded} uploaded now)`,
  );
  await confirmSeal(config, state, options.commitState);
  return { batch, files: files.length, uploaded, bytesUploaded };
}

/** A checksum refusal is most often a local file changed after the prepare: say so. */
async function explainUploadFailure(
  error: unknown,
  file: { name: string; sha256: string; path: string },
): Promise<unknown> {
  if (!(error instanceof SyncupError) || error.code !== "FILE_CHECKSUM_MISMATCH") return error;
  const actual = await sha256File(file.path).catch(() => undefined);
  if (actual === file.sha256) return error;
  return new SyncupError(
    "PREPARED_FILE_CHECKSUM",
    `"${file.path}" changed after it was prepared (its SHA-256 differs from prepare.json): prepare again.`,
    { cause: error },
  );
}

export type ResumeOutcome =
  | { readonly kind: "none" }
  /** The interrupted batch was uploaded (what was missing) and sealed now. */
  | { readonly kind: "sent"; readonly batchId: string; readonly sent: SentBatch }
  /** The seal had been confirmed before the interruption: previous/ advanced now. */
  | { readonly kind: "confirmed"; readonly batchId: string }
  /** The batch cannot be finished (cancelled, unknown, other files): forgotten. */
  | { readonly kind: "dropped"; readonly batchId: string; readonly reason: string };

/**
 * Finishes the transfer an earlier job left in `transfer.json` (a crash, a kill, the server
 * unreachable): a batch still `notified` whose prepared files are those it was notified for is
 * uploaded (what the server lacks) and sealed; a batch whose seal was confirmed advances
 * `previous/`; anything else is dropped (and a still-notified batch abandoned on the server).
 */
export async function resumeTransfer(
  client: ServerClient,
  config: Config,
  connector: string,
  logger: Logger,
): Promise<ResumeOutcome> {
  const state = await readTransfer(config, connector);
  if (state === undefined) return { kind: "none" };
  const manifest = await readPrepared(connectorDir(config, connector));
  const sameFiles = state.preparedAt !== null && manifest?.preparedAt === state.preparedAt;
  const batch = await client.getBatch(state.batchId);
  const drop = async (reason: string): Promise<ResumeOutcome> => {
    if (batch?.state === "notified") await abandonBatch(client, config, state, logger, reason);
    else await dropTransfer(config, connector);
    logger.warn(
      { connector, batch: state.batchId },
      `Dropped the interrupted transfer of batch ${state.batchId}: ${reason}`,
    );
    return { kind: "dropped", batchId: state.batchId, reason };
  };
  if (batch === undefined) return drop("the server does not know it");
  if (!sameFiles) {
    return drop(
      state.preparedAt === null
        ? "its prepare did not finish"
        : "the prepared files changed since it was notified",
    );
  }
  if (CONFIRMED_STATES.includes(batch.state)) {
    await confirmSeal(config, state, undefined);
    logger.info(
      { connector, batch: state.batchId },
      `Batch ${state.batchId} was sealed before the interruption: previous/ advanced`,
    );
    return { kind: "confirmed", batchId: state.batchId };
  }
  if (batch.state !== "notified") return drop(`it is ${batch.state} on the server`);
  logger.info({ connector, batch: state.batchId }, `Resuming the upload of batch ${state.batchId}`);
  const sent = await sendBatch(client, config, state, { logger });
  return { kind: "sent", batchId: state.batchId, sent };
}
