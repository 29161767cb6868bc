/**
 * The run service: the whole Sync Up of one connector in one process (`syncup run`, and the
 * attempts of local jobs): export → prepare → synchronize → accept,
 * holding the connector's lock from start to end, so that no other run, export or prepare of
 * the connector falls between the steps. `previous/` is advanced only when the synchronization
 * applied the batch, and only to the files of that batch, so a blocked or failed run leaves the
 * next incremental diff against what the repository really holds.
 */
import type { Config, Mode } from "../config/config.js";
import { exportConnector, type ExportReport } from "../export/export.js";
import type { MappingSummary } from "../prepare/layout.js";
import { prepareConnector, type PrepareReport } from "../prepare/prepare.js";
import { acceptPrepared, readPreviousManifest } from "../prepare/previous.js";
import { withConnectorLock } from "../support/connector-lock.js";
import { synchronize, type Store, type SyncProgress, type SyncReport } from "../sync/index.js";
import { blockedError, countsOf } from "../sync/synchronize.js";
import { driftAware, DriftDetected, noPreviousError, WaitingForBatch, withDriftPolicy } from "./drift.js";

export type RunMode = Mode | "auto";

/** One connector's Sync Up, as `syncup run` reports it. */
export interface ConnectorRun {
  readonly connector: string;
  readonly requestedMode: RunMode;
  /** The mode it ran in: `auto` resolved, or the fallback of a drifted incremental. */
  readonly mode: Mode;
  /** `waiting`: an incremental that waits for the connector's blocked batch; nothing ran. */
  readonly outcome: SyncReport["state"] | "waiting";
  /** Why it fell back from incremental, or why it waits. */
  readonly note: string | null;
  readonly export: ExportReport | null;
  readonly prepare: readonly MappingSummary[];
  readonly sync: SyncReport | null;
}

export interface RunConnectorOptions {
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly onProgress?: (label: string, done: number, total: number) => void;
  /** The synchronization's progress: rows of each prepared file read (the steps before count bytes). */
  readonly onSyncProgress?: SyncProgress;
}

/** The steps of an attempt, and how each is recorded (a job's task history; nothing for `syncup run`). */
export type StepName = "export" | "prepare" | "synchronize";
export interface StepRunner {
  run<T>(step: StepName, fn: () => Promise<T>, report?: (value: T) => StepReport): Promise<T>;
}
export interface StepReport {
  readonly counts?: Readonly<Record<string, number>>;
  readonly message?: string | null;
}
const DIRECT: StepRunner = { run: (_step, fn) => fn() };

export interface AttemptOptions extends RunConnectorOptions {
  /** The steps to run (a job's tasks); all three by default. */
  readonly steps?: readonly StepName[];
  readonly recorder?: StepRunner;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly log?: (line: string) => void;
}

/** What one attempt ran. */
export interface LocalAttempt {
  readonly export: ExportReport | null;
  readonly prepare: PrepareReport | null;
  readonly sync: SyncReport | null;
}

/**
 * The mode `auto` runs in: initial for a connector the repository holds nothing of; else
 * incremental when `previous/` was accepted from the last batch the repository applied for the
 * connector (the two agree), else complete.
 */
export async function resolveMode(
  config: Config,
  store: Store,
  connector: string,
  mode: RunMode,
): Promise<Mode> {
  if (mode !== "auto") return mode;
  if (!(await store.resources.hasAny(connector))) return "initial";
  const previous = await readPreviousManifest(config, connector);
  const last = await store.batches.lastApplied(connector);
  return previous?.batch !== undefined && previous.batch !== null && previous.batch === last?.id
    ? "incremental"
    : "complete";
}

/** The mode a drifted incremental falls back to: complete, or initial when the repository holds nothing of the connector. */
export async function fallbackModeOf(store: Store, connector: string): Promise<Mode> {
  return (await store.resources.hasAny(connector)) ? "complete" : "initial";
}

/**
 * A connector's whole Sync Up in this process (`syncup run`): `auto` resolved, the drift policy
 * applied (`drift.ts`), holding the connector's lock from the export to the accept.
 */
export async function runConnector(
  config: Config,
  store: Store,
  connector: string,
  requested: RunMode,
  options: RunConnectorOptions = {},
): Promise<ConnectorRun> {
  return withConnectorLock(config.workDir, connector, "syncup run", async () => {
    const mode = await resolveMode(config, store, connector, requested);
    const base = { connector, requestedMode: requested, prepare: [] as MappingSummary[] };
    try {
      const run = await withDriftPolicy(
        config,
        mode,
        (m) => attemptLocal(config, store, connector, m, options),
        () => fallbackModeOf(store, connector),
      );
      const { sync } = run.value;
      return {
        ...base,
        mode: run.mode,
        outcome: sync?.state ?? "applied",
        note: run.note,
        export: run.value.export,
        prepare: run.value.prepare?.manifest.summaries ?? [],
        sync,
      };
    } catch (error) {
      if (!(error instanceof WaitingForBatch)) throw error instanceof DriftDetected ? error.error : error;
      return { ...base, mode, outcome: "waiting", note: error.message, export: null, sync: null };
    }
  });
}

/**
 * One attempt of a connector's steps in `mode` in this process: export → prepare → synchronize
 * and accept. An incremental whose connector has a blocked batch throws `WaitingForBatch`
 * before it exports; one with no valid base throws `DriftDetected` (see `drift.ts`).
 */
export async function attemptLocal(
  config: Config,
  store: Store,
  connector: string,
  mode: Mode,
  options: AttemptOptions = {},
): Promise<LocalAttempt> {
  const steps = options.steps ?? ["export", "prepare", "synchronize"];
  const recorder = options.recorder ?? DIRECT;
  const progress = options.onProgress;
  if (mode === "incremental") {
    const blocked = await store.batches.blocked(connector);
    if (blocked !== undefined && steps.includes("synchronize"))
      throw new WaitingForBatch(blockedError(blocked).message);
    if (steps.includes("prepare")) await incrementalBase(config, connector);
  }
  const exported = steps.includes("export")
    ? await exportStep(config, connector, mode, recorder, options)
    : null;
  const prepared = steps.includes("prepare")
    ? await prepareStep(config, connector, mode, recorder, progress ? { onProgress: progress } : {})
    : null;
  const sync = steps.includes("synchronize")
    ? await recorder.run(
        "synchronize",
        () =>
          driftAware(mode, () =>
            synchronizePrepared(config, store, connector, mode, exported ?? undefined, options),
          ),
        (r) => ({ counts: countsOf(r), message: `batch ${r.batchId}: ${r.state}` }),
      )
    : null;
  return { export: exported, prepare: prepared, sync };
}

/**
 * The batch an incremental is based on: the one `previous/` was accepted from (null for a
 * local run's). No `previous/` is a drift (`DriftDetected`): there is nothing to diff against.
 */
export async function incrementalBase(config: Config, connector: string): Promise<string | null> {
  const previous = await readPreviousManifest(config, connector);
  if (previous === undefined) throw new DriftDetected(noPreviousError(connector));
  return previous.batch;
}

/** The export step, its state commit deferred to the accept, recorded as a task. */
export function exportStep(
  config: Config,
  connector: string,
  mode: Mode,
  recorder: StepRunner,
  options: Pick<AttemptOptions, "env" | "log" | "onProgress"> = {},
): Promise<ExportReport> {
  return recorder.run(
    "export",
    () =>
      exportConnector(config, connector, mode, {
        deferStateCommit: true,
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.log === undefined ? {} : { log: options.log }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      }),
    (r) => ({ counts: exportCounts(r) }),
  );
}

/** What a caller does around the prepare step (the agent notifies before it, records after it). */
export interface PrepareHooks {
  readonly onProgress?: RunConnectorOptions["onProgress"];
  before?(): Promise<void>;
  /** The prepare found no valid base: undo what `before` did (then `DriftDetected` is thrown). */
  onDrift?(error: unknown): Promise<void>;
  after?(report: PrepareReport): Promise<void>;
  /** The task's message once it succeeded. */
  message?(): string | null;
}

/** The prepare step, recorded as a task; an incremental without a valid base throws `DriftDetected`. */
export function prepareStep(
  config: Config,
  connector: string,
  mode: Mode,
  recorder: StepRunner,
  hooks: PrepareHooks = {},
): Promise<PrepareReport> {
  return recorder.run(
    "prepare",
    async () => {
      await hooks.before?.();
      let prepared: PrepareReport;
      try {
        prepared = await driftAware(mode, () =>
          prepareConnector(config, connector, mode, hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
        );
      } catch (error) {
        if (error instanceof DriftDetected) await hooks.onDrift?.(error.error);
        throw error;
      }
      await hooks.after?.(prepared);
      return prepared;
    },
    (r) => ({ counts: prepareCounts(r), message: hooks.message?.() ?? null }),
  );
}

/** Sums numeric fields of a list of records. */
export function sumOf<T>(items: readonly T[], field: (item: T) => number): number {
  return items.reduce((total, item) => total + field(item), 0);
}

export function exportCounts(report: ExportReport): Record<string, number> {
  return { files: report.files.length, rows: sumOf(report.files, (f) => f.rows) };
}

export function prepareCounts(report: PrepareReport): Record<string, number> {
  const s = report.manifest.summaries;
  return {
    mappings: s.length,
    rowsRead: sumOf(s, (m) => m.rowsRead),
    kept: sumOf(s, (m) => m.kept),
    nullKeys: sumOf(s, (m) => m.nullKeys),
    duplicates: sumOf(s, (m) => m.duplicates),
    inserts: sumOf(s, (m) => m.inserts),
    updates: sumOf(s, (m) => m.updates),
    deletes: sumOf(s, (m) => m.deletes),
  };
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
