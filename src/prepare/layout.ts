/**
 * Where the agent's files live. For connector `AD`:
 *
 * ```
 * <workDir>/AD/prepare.json            the manifest of the last prepare (written last: its commit point)
 * <workDir>/AD/<mapping>.sorted.csv    cleaned, sorted, unique
 * <workDir>/AD/<mapping>.sorted.delta  incremental changes (command column first)
 * <workDir>/AD/<mapping>.nullpk.csv    rows without a key
 * <workDir>/AD/<mapping>.duplicates.csv later rows of a key already seen
 * <workDir>/AD/previous/               the last accepted .sorted.csv files and manifest.json
 * ```
 */
import { join } from "node:path";
import type { Config, Mode } from "../config/config.js";

export type PreparedKind = "sorted" | "delta" | "nullpk" | "duplicates";

export const PREPARED_SUFFIX: Readonly<Record<PreparedKind, string>> = {
  sorted: ".sorted.csv",
  delta: ".sorted.delta",
  nullpk: ".nullpk.csv",
  duplicates: ".duplicates.csv",
};

export function connectorDir(config: Config, connector: string): string {
  return join(config.workDir, connector);
}

export function previousDir(config: Config, connector: string): string {
  return join(connectorDir(config, connector), "previous");
}

export function preparedFileName(mapping: string, kind: PreparedKind): string {
  return `${mapping}${PREPARED_SUFFIX[kind]}`;
}

export interface ManifestFile {
  readonly mapping: string;
  readonly kind: PreparedKind;
  /** File name, relative to the manifest's folder. */
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface MappingSummary {
  readonly mapping: string;
  readonly kind: "entity" | "association";
  readonly source: string;
  readonly rowsRead: number;
  readonly kept: number;
  readonly nullKeys: number;
  readonly duplicates: number;
  readonly inserts: number;
  readonly updates: number;
  readonly deletes: number;
  readonly merges: number;
}

/** `prepare.json`: what one prepare produced. */
export interface PrepareManifest {
  readonly connector: string;
  readonly mode: Mode;
  readonly preparedAt: string;
  /** Incremental: how the changes were computed. */
  readonly deltaSource: "none" | "previous" | "command";
  /** The batch that `previous/` came from when this prepare ran (incremental), else null. */
  readonly baseBatch: string | null;
  readonly files: readonly ManifestFile[];
  readonly summaries: readonly MappingSummary[];
}

/** `previous/manifest.json`: the last accepted state. */
export interface PreviousManifest {
  readonly connector: string;
  readonly acceptedAt: string;
  readonly batch: string | null;
  readonly mode: Mode;
  readonly files: readonly ManifestFile[];
}
