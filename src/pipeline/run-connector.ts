/**
 * The whole Sync Up of one connector in one process: export → prepare → synchronize → accept,
 * holding the connector's lock from start to end, so that no other run, export or prepare of
 * the connector falls between the steps. `previous/` is advanced only when the synchronization
 * applied the batch, and only to the files of that batch, so a blocked or failed run leaves the
 * next incremental diff against what the repository really holds.
 */
import type { Config, Mode } from "../config/config.js";
import { exportConnector, type ExportReport } from "../export/export.js";
import type { MappingSummary } from "../prepare/layout.js";
import { prepareConnector } from "../prepare/prepare.js";
import { acceptPrepared } from "../prepare/previous.js";
import { withConnectorLock } from "../support/connector-lock.js";
import { synchronize, type Store, type SyncProgress, type SyncReport } from "../sync/index.js";

export type RunMode = Mode | "auto";

export interface ConnectorRun {
  readonly connector: string;
  readonly mode: Mode;
  readonly export: ExportReport;
  readonly prepare: readonly MappingSummary[];
  readonly sync: SyncReport;
}

export interface RunConnectorOptions {
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly onProgress?: (label: string, done: number, total: number) => void;
  /** The synchronization's progress: rows of each prepared file read (the steps before count bytes). */
  readonly onSyncProgress?: SyncProgress;
}

/** `auto` is initial for a connector the repository holds nothing of yet, else complete. */
export async function resolveMode(store: Store, connector: string, mode: RunMode): Promise<Mode> {
  if (mode !== "auto") return mode;
  return (await store.resources.hasAny(connector)) ? "complete" : "initial";
}

export async function runConnector(
  config: Config,
  store: Store,
  connector: string,
  requested: RunMode,
  options: RunConnectorOptions = {},
): Promise<ConnectorRun> {
  return withConnectorLock(config.workDir, connector, "syncup run", () =>
    runLocked(config, store, connector, requested, options),
  );
}

async function runLocked(
  config: Config,
  store: Store,
  connector: string,
  requested: RunMode,
  options: RunConnectorOptions,
): Promise<ConnectorRun> {
  const mode = await resolveMode(store, connector, requested);
  const progress = options.onProgress;
  const exported = await exportConnector(config, connector, mode, {
    deferStateCommit: true,
    ...(progress ? { onProgress: progress } : {}),
  });
  const prepared = await prepareConnector(config, connector, mode, progress ? { onProgress: progress } : {});
  const sync = await synchronizePrepared(config, store, connector, mode, exported, options);
  return { connector, mode, export: exported, prepare: prepared.manifest.summaries, sync };
}

/**
 * Synchronizes the prepared files, then, only when the batch was applied, advances `previous/`
 * and the export's incremental state (`exported`, when this process ran the export), in that order.
 */
export async function synchronizePrepared(
  config: Config,
  store: Store,
  connector: string,
  mode: Mode,
  exported: Pick<ExportReport, "commitState"> | undefined,
  options: Pick<RunConnectorOptions, "force" | "dryRun" | "onSyncProgress"> = {},
): Promise<SyncReport> {
  return withConnectorLock(config.workDir, connector, "synchronize", async () => {
    const sync = await synchronize({
      store,
      config,
      connector,
      mode,
      ...(options.force === undefined ? {} : { force: options.force }),
      ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
      ...(options.onSyncProgress === undefined ? {} : { onProgress: options.onSyncProgress }),
    });
    if (sync.state === "applied") {
      const batch = await store.batches.get(sync.batchId);
      await acceptPrepared(config, connector, sync.batchId, { preparedAt: batch?.preparedAt ?? null });
      await exported?.commitState();
    }
    return sync;
  });
}
