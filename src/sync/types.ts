import type { Config, Mode } from "../config/config.js";
import type { ThresholdCheck } from "../core/thresholds.js";
import type { ApplyStep } from "../store/apply.js";
import type { Store } from "../store/store.js";
import type { BatchState } from "../store/types.js";

export interface SynchronizeOptions {
  readonly store: Store;
  readonly config: Config;
  readonly connector: string;
  readonly mode: Mode;
  /** Folder of the prepared files; default `<workDir>/<connector>`. Orphans files are written there. */
  readonly dir?: string;
  /**
   * Stage and report, apply nothing: the batch ends `previewed`, its staged changes kept for
   * review (and a decision) for `previewHours` (default 24).
   */
  readonly dryRun?: boolean;
  readonly previewHours?: number;
  /** Ignore thresholds; in initial mode, replace the connector's resources. */
  readonly force?: boolean;
  /**
   * A batch an agent notified and sealed: it is claimed (sealed → staging) instead of created,
   * so that it is synchronized at most once. Default: a new batch.
   */
  readonly batchId?: string;
  /**
   * Called before each step of the apply transaction, and of an initial load's transaction
   * (resources, links): tests inject failures here.
   */
  readonly beforeApplyStep?: (step: ApplyStep) => void | Promise<void>;
  /** Told, a few times a second, how many rows of each prepared file were read (see `progress.ts`). */
  readonly onProgress?: SyncProgress;
}

/** The rows of a mapping's prepared file read so far, of `total`. */
export type SyncProgress = (mapping: string, rows: number, total: number) => void;

/** What one mapping contributed to a batch. */
export interface MappingReport {
  readonly mapping: string;
  readonly kind: "entity" | "association";
  readonly file: string;
  /** Data rows read from the file. */
  rows: number;
  inserted: number;
  updated: number;
  deleted: number;
  /** Rows equal to what the repository holds. */
  unchanged: number;
  /** Links whose end was not found (associations). */
  orphans: number;
  /** Mono-valued links shadowed by another link of the same resource (associations). */
  conflicts: number;
}

export interface SyncReport {
  readonly batchId: string;
  readonly connector: string;
  readonly mode: Mode;
  readonly state: Extract<BatchState, "applied" | "blocked" | "previewed">;
  readonly dryRun: boolean;
  readonly forced: boolean;
  readonly resources: {
    readonly inserted: number;
    readonly updated: number;
    readonly deleted: number;
    readonly unchanged: number;
  };
  readonly links: { readonly inserted: number; readonly deleted: number };
  readonly orphans: number;
  readonly monoConflicts: number;
  /** The orphans files written (`<dir>/<association>.orphans.csv`). */
  readonly orphanFiles: readonly string[];
  readonly mappings: readonly MappingReport[];
  /** Every threshold checked (none in initial mode). */
  readonly thresholds: readonly ThresholdCheck[];
  /** The thresholds crossed: non-empty when the batch is blocked (or, with force or a dry run, would have been). */
  readonly crossed: readonly ThresholdCheck[];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
}
