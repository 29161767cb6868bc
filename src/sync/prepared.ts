/**
 * The prepared files a synchronization reads: `prepare.json` lists them with their SHA-256,
 * which is checked before any is used; each file's header must be the mapping's columns.
 */
import { basename, join } from "node:path";
import type { ConnectorDef, MappingDef, Mode } from "../config/config.js";
import { mappingsOf } from "../config/config.js";
import { openCsv, type CsvReader } from "../csv/reader.js";
import { SyncupError } from "../errors.js";
import {
  ManifestInvalidError,
  parsePrepareManifestJson,
  type PrepareManifest,
} from "../protocol/manifest.js";
import { readTextIfExists } from "../support/json-file.js";
import { sha256File } from "../support/file-hash.js";

export interface PreparedFile {
  readonly mapping: MappingDef;
  readonly path: string;
  /** The file name, as messages show it. */
  readonly label: string;
  readonly rows: number;
}

export interface Prepared {
  readonly dir: string;
  readonly preparedAt: string | null;
  readonly baseBatch: string | null;
  /** By mapping name, every mapping of the connector. */
  readonly files: ReadonlyMap<string, PreparedFile>;
}

/**
 * Reads `<dir>/prepare.json`, checks that it was prepared for this connector and mode, and
 * that every mapping has its file (`.sorted.csv`, or `.sorted.delta` in incremental mode)
 * with the recorded SHA-256.
 */
export async function loadPrepared(dir: string, connector: ConnectorDef, mode: Mode): Promise<Prepared> {
  const manifestPath = join(dir, "prepare.json");
  const manifest = await readManifest(manifestPath);
  if (manifest.connector !== connector.name) {
    throw new SyncupError(
      "PREPARED_MANIFEST_INVALID",
      `"${manifestPath}" was prepared for connector "${manifest.connector}", not "${connector.name}".`,
    );
  }
  if ((mode === "incremental") !== (manifest.mode === "incremental")) {
    throw new SyncupError(
      "MODE_MISMATCH",
      `The files in "${dir}" were prepared for a ${manifest.mode} synchronization, not ${mode}. Run \`syncup prepare --mode ${mode}\` first, or synchronize with --mode ${manifest.mode === "incremental" ? "incremental" : "complete"}.`,
    );
  }
  const kind = mode === "incremental" ? "delta" : "sorted";
  const files = new Map<string, PreparedFile>();
  for (const mapping of mappingsOf(connector)) {
    const entry = manifest.files.find((f) => f.mapping === mapping.name && f.kind === kind);
    if (entry === undefined) {
      throw new SyncupError(
        "PREPARED_FILE_MISSING",
        `"${manifestPath}" lists no ${kind} file for mapping "${mapping.name}": the prepare did not finish or is older than the configuration. Run \`syncup prepare\` again.`,
      );
    }
    const path = join(dir, basename(entry.file));
    let actual: string;
    try {
      actual = await sha256File(path);
    } catch (error) {
      throw new SyncupError(
        "PREPARED_FILE_MISSING",
        `Prepared file "${path}" cannot be read: ${(error as Error).message}`,
        {
          cause: error,
          position: { file: entry.file },
        },
      );
    }
    if (actual !== entry.sha256) {
      throw new SyncupError(
        "PREPARED_FILE_CHECKSUM",
        `"${entry.file}" does not match prepare.json (SHA-256 ${actual}, expected ${entry.sha256}): it changed after the prepare. Run \`syncup prepare\` again.`,
        { position: { file: entry.file } },
      );
    }
    files.set(mapping.name, { mapping, path, label: basename(entry.file), rows: entry.rows });
  }
  return { dir, preparedAt: manifest.preparedAt, baseBatch: manifest.baseBatch ?? null, files };
}

/** Opens a prepared file and checks its header: `columns`, after `command` for a delta. */
export async function openPrepared(file: PreparedFile, delta: boolean): Promise<CsvReader> {
  const reader = await openCsv(file.path, { separator: ";" }, { label: file.label });
  const expected = delta ? ["command", ...file.mapping.columns] : [...file.mapping.columns];
  if (reader.header.length !== expected.length || reader.header.some((h, i) => h !== expected[i])) {
    await reader.close();
    throw new SyncupError(
      "PREPARED_FILE_INVALID",
      `"${file.label}" line ${reader.headerLine}: the header is ${reader.header.join(";")}, expected ${expected.join(";")}. The configuration changed since the prepare: run \`syncup prepare\` again.`,
      { position: { file: file.label, line: reader.headerLine } },
    );
  }
  return reader;
}

/** The error for a file whose rows are not in strictly increasing key order. */
export function unsortedError(file: PreparedFile, line: number, key: string, previous: string): SyncupError {
  return new SyncupError(
    "PREPARED_FILE_INVALID",
    `"${file.label}" line ${line}: key ${key} is not after ${previous}; prepared files are sorted by key, each key once. Run \`syncup prepare\` again.`,
    { position: { file: file.label, line } },
  );
}

/** `prepare.json`, read through the manifest contract's one validating reader (`protocol/manifest.ts`). */
async function readManifest(path: string): Promise<PrepareManifest> {
  try {
    const text = await readTextIfExists(path);
    if (text !== undefined) return parsePrepareManifestJson(text, path);
  } catch (error) {
    const reason =
      error instanceof ManifestInvalidError
        ? error.message
        : `Cannot read "${path}": ${(error as NodeJS.ErrnoException).code ?? String(error)}.`;
    throw new SyncupError("PREPARED_MANIFEST_INVALID", `${reason} Run \`syncup prepare\` again.`, {
      cause: error,
    });
  }
  throw new SyncupError(
    "PREPARED_MANIFEST_INVALID",
    `Cannot read "${path}": ENOENT. Run \`syncup prepare\` for this connector first.`,
  );
}
