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
import type { Config } from "../config/config.js";
import type { ManifestFile } from "../protocol/manifest.js";
import type { Mode } from "../protocol/mode.js";

/** The prepared files and `prepare.json` are the agent/server contract (`src/protocol/manifest.ts`). */
export {
  PREPARED_SUFFIX,
  preparedFileName,
  type ManifestFile,
  type MappingSummary,
  type PreparedKind,
  type PrepareManifest,
} from "../protocol/manifest.js";

export function connectorDir(config: Config, connector: string): string {
  return join(config.workDir, connector);
}

export function previousDir(config: Config, connector: string): string {
  return join(connectorDir(config, connector), "previous");
}

/** `previous/manifest.json`: the last accepted state. */
export interface PreviousManifest {
  readonly connector: string;
  readonly acceptedAt: string;
  readonly batch: string | null;
  readonly mode: Mode;
  readonly files: readonly ManifestFile[];
}
