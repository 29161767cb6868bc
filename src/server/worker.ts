/**
 * The server's batch queue. Per connector, sealed batches are synchronized one at a time in
 * the order their notifications arrived: a batch waits while an earlier one of its connector
 * is still being uploaded, and an incremental waits while a blocked batch holds the connector.
 * A notified batch that is not sealed within `server.uploadTimeoutMinutes` is cancelled.
 *
 * The database is the queue: a batch left `staging` while its connector's lock is free was
 * interrupted (a crash, a lost connection: its staged rows were never applied, the apply being
 * one transaction), and goes back to `sealed` to run again. The worker looks for them each
 * time it reads the queue, so that a batch interrupted by a lost connection runs again as
 * soon as the database answers, without waiting for a restart.
 *
 * Each read of the queue is recorded (`health`, the metrics): `/ready` and
 * `syncup_queue_errors_total` tell a queue that cannot be read from an idle one.
 */
import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { SyncupError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { BatchRow } from "../store/types.js";
import type { ChangeSelection, Decision } from "../store/journal.js";
import {
  applyDecided,
  cancelBatch,
  decideBatch,
  validateBatch,
  type Actor,
  type DecisionOutcome,
  type ReviewedReport,
} from "../sync/review.js";
import { undoBatch } from "../sync/undo.js";
import { recoverInterrupted } from "../sync/batches.js";
import { synchronize } from "../sync/synchronize.js";
import { describeCheck } from "../core/thresholds.js";
import type { ApplyStep } from "../store/apply.js";
import type { ServerMetrics } from "./metrics.js";
import type { Mutex } from "./mutex.js";

export interface WorkerDeps {
  readonly config: Config;
  readonly store: Store;
  readonly mutex: Mutex;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** Where a batch's files are. */
  readonly batchDir: (id: string) => string;
  /** Milliseconds between two looks at the queue when nothing woke the worker. */
  readonly pollMs?: number;
  /** Test hook: called before each step of an apply transaction. */
  readonly beforeApplyStep?: (step: ApplyStep) => Promise<void>;
  /** Called after a synchronization or a decision committed (the change feed's pusher looks then). */
  readonly committed?: () => void;
}

/** How the worker's reads of the queue went. */
export interface QueueHealth {
  /** When the queue was last read in full (interrupted batches requeued, ready batches listed). */
  readonly lastRead: Date | null;
  /** Reads that failed (or batches a lost connection interrupted) since then. */
  readonly failures: number;
}

export class BatchWorker {
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private current: BatchRow | null = null;
  private queue: QueueHealth = { lastRead: null, failures: 0 };

  constructor(private readonly deps: WorkerDeps) {}

  /** Processes the queue until `stop`, starting with the batches a crash interrupted. */
  start(): void {
    const tick = () => {
      this.wake();
      this.timer = setTimeout(tick, this.deps.pollMs ?? 5000);
      this.timer.unref();
    };
    tick();
  }

  /** The batch being synchronized, for the log ("" when none). */
  busy(): string {
    return this.current === null
      ? ""
      : `batch ${this.current.id} (${this.current.connector} ${this.current.mode})`;
  }

  /** How the reads of the queue went, for `/ready`. */
  health(): QueueHealth {
    return this.queue;
  }

  /** Looks at the queue now (after a seal, a validation, a cancellation). */
  wake(): void {
    if (this.stopping) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => {
        // The database went away (or another fault outside a batch): try again at the next tick.
        this.failed();
        this.deps.log.error(
          { err: error, failures: this.queue.failures },
          "batch queue: cannot read the queue",
        );
      })
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopping) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Finishes the batch being synchronized, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running;
  }

  /** Resolves once the queue has nothing ready (tests). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      this.again = false;
      let progressed = false;
      const connectors = await this.deps.mutex.run(async () => {
        await this.requeueInterrupted();
        return this.deps.store.batches.connectorsWith(["notified", "sealed"]);
      });
      this.read();
      for (const connector of connectors) {
        if (this.stopping) return;
        if (await this.step(connector)) progressed = true;
      }
      if (!progressed && !this.again) return;
    }
  }

  /** Puts the batches found `staging` whose connector nobody synchronizes back in the queue. */
  private async requeueInterrupted(): Promise<void> {
    for (const connector of await this.deps.store.batches.connectorsWith(["staging"])) {
      // Only a batch nobody synchronizes was interrupted: the connector's lock tells.
      let release: () => Promise<void>;
      try {
        release = await this.deps.store.lockConnector(connector);
      } catch (error) {
        if (error instanceof SyncupError && error.code === "CONNECTOR_BUSY") continue;
        throw error;
      }
      try {
        for (const batch of await recoverInterrupted(this.deps.store, connector)) {
          this.deps.log.warn(
            { batch: batch.id, connector, requeued: batch.agent !== null },
            "batch interrupted while staging: nothing of it was applied",
          );
        }
      } finally {
        await release();
      }
    }
  }

  /** The queue was read in full. */
  private read(): void {
    const at = new Date();
    this.queue = { lastRead: at, failures: 0 };
    this.deps.metrics.queueRead(at);
  }

  /** A read of the queue failed, or a batch lost its connection (logged by the caller). */
  private failed(): void {
    this.queue = { lastRead: this.queue.lastRead, failures: this.queue.failures + 1 };
    this.deps.metrics.queueFailed();
  }

  /** Synchronizes the connector's next batch if it is ready; true when something changed. */
  private async step(connector: string): Promise<boolean> {
    const { store, log } = this.deps;
    const next = await this.deps.mutex.run(async () => {
      const queue = await store.batches.inStates(connector, ["notified", "sealed"]);
      const head = queue[0];
      if (head === undefined) return undefined;
      if (head.state === "notified") {
        const age = Date.now() - Date.parse(head.createdAt);
        if (age > this.deps.config.server.uploadTimeoutMs) {
          await store.batches.setState(
            head.id,
            "cancelled",
            {
              error: `not sealed within ${Math.round(this.deps.config.server.uploadTimeoutMs / 60_000)} minutes`,
            },
            "notified",
          );
          log.warn({ batch: head.id, connector }, "batch never sealed: cancelled");
          return "changed" as const;
        }
        return undefined;
      }
      if (head.mode === "incremental" && (await store.batches.blocked(connector)) !== undefined) {
        return undefined;
      }
      return head;
    });
    if (next === undefined) return false;
    if (next === "changed") return true;
    return this.run(next);
  }

  /** Synchronizes one batch; false when it could not start (the connector is busy elsewhere). */
  private async run(batch: BatchRow): Promise<boolean> {
    const { store, config, log, metrics } = this.deps;
    log.info({ batch: batch.id, connector: batch.connector, mode: batch.mode }, "synchronizing batch");
    this.current = batch;
    try {
      const report = await this.deps.mutex.run(() =>
        synchronize({
          store,
          config,
          connector: batch.connector,
          mode: batch.mode,
          dir: this.deps.batchDir(batch.id),
          batchId: batch.id,
          dryRun: batch.dryRun,
          ...(this.deps.beforeApplyStep === undefined ? {} : { beforeApplyStep: this.deps.beforeApplyStep }),
        }),
      );
      metrics.synchronized(report);
      this.deps.committed?.();
      log.info(
        {
          batch: batch.id,
          connector: batch.connector,
          state: report.state,
          resources: report.resources,
          links: report.links,
          crossed: report.crossed.map(describeCheck),
          seconds: report.seconds,
        },
        `batch ${report.state}`,
      );
    } catch (error) {
      if (error instanceof SyncupError && error.code === "CONNECTOR_BUSY") {
        log.info({ batch: batch.id, connector: batch.connector }, `${error.message} The batch waits.`);
        return false;
      }
      if (error instanceof SyncupError && error.code === "BATCH_STATE") {
        // Another server instance claimed it first.
        log.info({ batch: batch.id, connector: batch.connector }, error.message);
        return true;
      }
      if (error instanceof SyncupError && error.code === "DATABASE_UNAVAILABLE") {
        // Nothing was applied (or all was, the state with it): the batch is still sealed, or
        // left staging with its connector's lock gone, and the next read of the queue requeues it.
        this.failed();
        log.warn(
          { batch: batch.id, connector: batch.connector, err: error },
          "batch interrupted: the connection to the database was lost; it runs again once the database answers",
        );
        return true;
      }
      metrics.failed(batch.connector);
      log.error(
        {
          batch: batch.id,
          connector: batch.connector,
          code: error instanceof SyncupError ? error.code : "INTERNAL",
          err: error,
        },
        "batch failed",
      );
    } finally {
      this.current = null;
    }
    return true;
  }

  /** An administrator applies a blocked or previewed batch whole, in the queue's turn. */
  async validate(id: string, actor: Actor): Promise<ReviewedReport> {
    const report = await this.deps.mutex.run(() =>
      validateBatch(this.deps.store, id, { actor, config: this.deps.config, ...this.applyHook() }),
    );
    this.deps.metrics.applied(report);
    this.deps.committed?.();
    this.wake();
    return report;
  }

  /** An administrator approves or rejects part of a blocked or previewed batch. */
  decide(id: string, actor: Actor, decision: Decision, selection: ChangeSelection): Promise<DecisionOutcome> {
    return this.deps.mutex.run(() => decideBatch(this.deps.store, id, actor, decision, selection));
  }

  /** An administrator applies a blocked or previewed batch as decided. */
  async apply(id: string, actor: Actor, rest?: Decision): Promise<ReviewedReport> {
    const report = await this.deps.mutex.run(() =>
      applyDecided(this.deps.store, this.deps.config, id, actor, {
        ...(rest === undefined ? {} : { rest }),
        ...this.applyHook(),
      }),
    );
    this.deps.metrics.applied(report);
    this.deps.committed?.();
    this.wake();
    return report;
  }

  /** An administrator undoes an applied batch: its inverse is staged as a batch of its own. */
  async undo(id: string, actor: Actor, force: boolean): Promise<ReviewedReport> {
    const report = await this.deps.mutex.run(() =>
      undoBatch(this.deps.store, this.deps.config, id, actor, { force, ...this.applyHook() }),
    );
    if (report.state === "applied") this.deps.metrics.applied(report);
    this.deps.committed?.();
    this.wake();
    return report;
  }

  /** An administrator discards a blocked or previewed batch. */
  async cancel(id: string, actor: Actor): Promise<BatchRow> {
    const batch = await this.deps.mutex.run(() => cancelBatch(this.deps.store, id, actor));
    this.wake();
    return batch;
  }

  private applyHook(): { beforeApplyStep?: NonNullable<WorkerDeps["beforeApplyStep"]> } {
    return this.deps.beforeApplyStep === undefined ? {} : { beforeApplyStep: this.deps.beforeApplyStep };
  }
}
