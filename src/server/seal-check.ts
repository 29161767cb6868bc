/**
 * What a seal checks before a batch may be queued: every file the agent lists was received
 * as announced, and `prepare.json` is the batch's (its connector, mode and base) and lists only
 * files the server holds.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SyncupError } from "../errors.js";
import type { BatchFile, SealRequest } from "../protocol/api.js";
import { parsePrepareManifestJson, type PrepareManifest } from "../protocol/manifest.js";
import type { BatchRow } from "../store/types.js";

/** Every file of the seal request received, with the SHA-256 the request names. */
export function checkSealFiles(
  id: string,
  held: ReadonlyMap<string, BatchFile>,
  files: SealRequest["files"],
): void {
  for (const file of files) {
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
}

/**
 * The seal's check of `prepare.json` (in `dir`, the batch's folder): the right connector and
 * mode, every file it needs received.
 */
export async function checkManifest(
  batch: BatchRow,
  held: ReadonlyMap<string, BatchFile>,
  dir: string,
): Promise<void> {
  const manifest = await readManifest(batch, held, dir);
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

/** The batch's `prepare.json`, received, read and valid. */
async function readManifest(
  batch: BatchRow,
  held: ReadonlyMap<string, BatchFile>,
  dir: string,
): Promise<PrepareManifest> {
  if (!held.has("prepare.json")) {
    throw new SyncupError("SEAL_INCOMPLETE", `Batch ${batch.id} cannot be sealed without its prepare.json.`);
  }
  let text: string;
  try {
    text = await readFile(join(dir, "prepare.json"), "utf8");
  } catch (error) {
    throw new SyncupError(
      "SEAL_INCOMPLETE",
      `Batch ${batch.id}: the server cannot read its prepare.json (${(error as NodeJS.ErrnoException).code ?? String(error)}). Upload it again in a new batch.`,
      { cause: error },
    );
  }
  try {
    return parsePrepareManifestJson(text, `prepare.json of batch ${batch.id}`);
  } catch (error) {
    throw new SyncupError(
      "PREPARED_MANIFEST_INVALID",
      `Batch ${batch.id} cannot be sealed: ${(error as Error).message} Upload the prepare.json the agent's prepare wrote, in a new batch.`,
      { cause: error },
    );
  }
}
