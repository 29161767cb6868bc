/**
 * `previous/`: the last `.sorted.csv` files the server accepted, with their manifest. It is the
 * base of the next incremental diff, so it moves only through `acceptPrepared`, called once
 * the batch was durably accepted (after the local synchronization or the server's seal).
 * The swap is a pair of renames; an interrupted swap is repaired by `recoverPrevious`.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Config } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { ManifestInvalidError, parsePrepareManifestJson } from "../protocol/manifest.js";
import { withConnectorLock } from "../support/connector-lock.js";
import { sha256File } from "../support/file-hash.js";
import { readJsonIfExists, readTextIfExists, writeJsonAtomic } from "../support/json-file.js";
import {
  connectorDir,
  previousDir,
  preparedFileName,
  type ManifestFile,
  type PrepareManifest,
  type PreviousManifest,
} from "./layout.js";

const MANIFEST = "manifest.json";

/** Puts back `previous/` if a swap was interrupted between its two renames; drops leftovers. */
export async function recoverPrevious(config: Config, connector: string): Promise<void> {
  const dir = connectorDir(config, connector);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const hasPrevious = names.includes("previous");
  for (const name of names) {
    if (name.startsWith("previous.old-") && !hasPrevious) {
      await rename(join(dir, name), previousDir(config, connector));
    } else if (name.startsWith("previous.old-") || name.startsWith("previous.new-")) {
      await rm(join(dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * The connector's last `prepare.json`, validated by the manifest contract's reader
 * (`protocol/manifest.ts`); undefined when there is none.
 */
export async function readPrepared(dir: string): Promise<PrepareManifest | undefined> {
  const path = join(dir, "prepare.json");
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    return parsePrepareManifestJson(text, path);
  } catch (error) {
    if (!(error instanceof ManifestInvalidError)) throw error;
    throw new SyncupError("PREPARED_MANIFEST_INVALID", `${error.message} Run \`syncup prepare\` again.`, {
      cause: error,
    });
  }
}

/** Reads `previous/manifest.json`, or undefined when there is no accepted state yet. */
export async function readPreviousManifest(
  config: Config,
  connector: string,
): Promise<PreviousManifest | undefined> {
  await recoverPrevious(config, connector);
  return readJsonIfExists<PreviousManifest>(join(previousDir(config, connector), MANIFEST));
}

/**
 * The path of `previous/<mapping>.sorted.csv` after checking it against the manifest's hash,
 * or undefined when the accepted state has no such file. A file that changed since it was
 * accepted is an error: a diff against it would send false changes.
 */
export async function verifiedPreviousFile(
  config: Config,
  connector: string,
  manifest: PreviousManifest,
  mapping: string,
): Promise<string | undefined> {
  const entry = manifest.files.find((f) => f.mapping === mapping && f.kind === "sorted");
  if (entry === undefined) return undefined;
  const path = join(previousDir(config, connector), entry.file);
  let actual: string;
  try {
    actual = await sha256File(path);
  } catch (error) {
    throw new SyncupError(
      "PREVIOUS_INVALID",
      `"${path}" is listed in previous/manifest.json but cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}). previous/ was tampered with: run a complete synchronization.`,
      { cause: error },
    );
  }
  if (actual !== entry.sha256) {
    throw new SyncupError(
      "PREVIOUS_INVALID",
      `"${path}" changed since batch ${manifest.batch ?? "(local)"} was accepted (its SHA-256 differs from previous/manifest.json). previous/ was tampered with: run a complete synchronization.`,
    );
  }
  return path;
}

/**
 * Advances `previous/` to the `.sorted.csv` files of the last prepare, recording the batch
 * they were sent in. Call it only once that batch was durably accepted. With `expected`, the
 * files must be those of that batch's prepare (its `preparedAt`): when another prepare ran
 * meanwhile, `previous/` is left as it was and PREVIOUS_INVALID says so, since advancing it to
 * files the repository never received would lose their changes for good. Holds the
 * connector's lock (or runs under its caller's).
 */
export async function acceptPrepared(
  config: Config,
  connector: string,
  batch: string | null,
  expected?: { readonly preparedAt: string | null },
): Promise<PreviousManifest> {
  return withConnectorLock(config.workDir, connector, "accept", () =>
    acceptLocked(config, connector, batch, expected),
  );
}

async function acceptLocked(
  config: Config,
  connector: string,
  batch: string | null,
  expected: { readonly preparedAt: string | null } | undefined,
): Promise<PreviousManifest> {
  const dir = connectorDir(config, connector);
  const prepared = await readPrepared(dir);
  if (prepared === undefined) {
    throw new SyncupError("PREPARE_NO_OUTPUT", `No prepared files in "${dir}": run "syncup prepare" first.`);
  }
  if (expected !== undefined && prepared.preparedAt !== expected.preparedAt) {
    throw new SyncupError(
      "PREVIOUS_INVALID",
      `The prepared files in "${dir}" are not the ones batch ${batch ?? "(local)"} was made of (prepared at ${prepared.preparedAt}, the batch's at ${expected.preparedAt ?? "unknown"}): another prepare of connector "${connector}" ran meanwhile. previous/ is left as it was; the next incremental run is refused for drift, and a complete synchronization (--mode complete) brings the repository back in line.`,
    );
  }
  await recoverPrevious(config, connector);
  const tag = randomBytes(4).toString("hex");
  const staging = join(dir, `previous.new-${tag}`);
  await mkdir(staging, { recursive: true });
  try {
    const files: ManifestFile[] = [];
    for (const file of prepared.files) {
      if (file.kind !== "sorted") continue;
      const source = join(dir, file.file);
      const actual = await sha256File(source);
      if (actual !== file.sha256) {
        throw new SyncupError(
          "PREVIOUS_INVALID",
          `"${source}" changed after it was prepared (its SHA-256 differs from prepare.json); previous/ is left as it was. Prepare again.`,
        );
      }
      const name = preparedFileName(file.mapping, "sorted");
      await copyFile(source, join(staging, name));
      files.push({ ...file, file: name });
    }
    const manifest: PreviousManifest = {
      connector,
      acceptedAt: new Date().toISOString(),
      batch,
      mode: prepared.mode,
      files,
    };
    await writeJsonAtomic(join(staging, MANIFEST), manifest);
    const current = previousDir(config, connector);
    const old = join(dir, `previous.old-${tag}`);
    let moved = false;
    try {
      await rename(current, old);
      moved = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    await rename(staging, current);
    if (moved) await rm(old, { recursive: true, force: true });
    return manifest;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * After a blocked local batch was validated: advances `previous/` to the prepared files it was
 * staged from, when they are still the connector's last prepare (same folder, same
 * `preparedAt`). Returns whether it did; when not, the next incremental run is refused for
 * drift and a complete one is needed.
 */
export async function acceptValidated(
  config: Config,
  connector: string,
  batch: { readonly id: string; readonly source: string | null; readonly preparedAt: string | null },
): Promise<boolean> {
  const dir = connectorDir(config, connector);
  if (batch.source === null || batch.preparedAt === null || resolve(batch.source) !== resolve(dir))
    return false;
  return withConnectorLock(config.workDir, connector, "accept", async () => {
    const prepared = await readPrepared(dir);
    if (prepared?.preparedAt !== batch.preparedAt) return false;
    await acceptLocked(config, connector, batch.id, { preparedAt: batch.preparedAt });
    return true;
  });
}
