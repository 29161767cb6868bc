/**
 * Prometheus metrics (`GET /metrics`): batches by state (read from the database at each
 * scrape), rows applied by operation, threshold blocks, synchronization durations, refusals,
 * and the health of the queue and of the database. A scrape answers while the database does
 * not: `syncup_database_up` is 0 then, and the batches by state are left out.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SinkState } from "../store/feed-sinks.js";
import type { BatchState } from "../store/types.js";
import type { SyncReport } from "../sync/types.js";

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly rows: Counter<"kind" | "operation">;
  private readonly blocks: Counter<"connector">;
  private readonly outcomes: Counter<"connector" | "outcome">;
  private readonly durations: Histogram<"connector" | "mode">;
  private readonly refusals: Counter<"code">;
  private readonly uploaded: Counter;
  private readonly queueReadAt: Gauge;
  private readonly queueErrors: Counter;

  constructor(batchStates: () => Promise<Map<BatchState, number>>) {
    collectDefaultMetrics({ register: this.registry, prefix: "syncup_" });
    // Each gauge reads for itself: collected in parallel, they could not share one read in order.
    const states = () => batchStates().catch(() => null);
    new Gauge({
      name: "syncup_batches",
      help: "Batches in the repository, by state.",
      labelNames: ["state"],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [state, n] of (await states()) ?? []) this.set({ state }, n);
      },
    });
    new Gauge({
      name: "syncup_database_up",
      help: "1 when the API's connection read the database for this scrape, 0 when it could not.",
      registers: [this.registry],
      async collect() {
        this.set((await states()) === null ? 0 : 1);
      },
    });
    this.queueReadAt = new Gauge({
      name: "syncup_queue_last_success_timestamp_seconds",
      help: "When the batch queue was last read successfully (Unix time). It advances at each poll while the worker is idle, and between two batches.",
      registers: [this.registry],
    });
    this.queueErrors = new Counter({
      name: "syncup_queue_errors_total",
      help: "Failed reads of the batch queue, and batches interrupted by a lost database connection (requeued).",
      registers: [this.registry],
    });
    this.rows = new Counter({
      name: "syncup_rows_applied_total",
      help: "Resources and links applied to the repository, by operation.",
      labelNames: ["kind", "operation"],
      registers: [this.registry],
    });
    this.blocks = new Counter({
      name: "syncup_threshold_blocks_total",
      help: "Batches blocked because they crossed a threshold.",
      labelNames: ["connector"],
      registers: [this.registry],
    });
    this.outcomes = new Counter({
      name: "syncup_batches_synchronized_total",
      help: "Batches synchronized by the server, by outcome (applied, blocked, failed).",
      labelNames: ["connector", "outcome"],
      registers: [this.registry],
    });
    this.durations = new Histogram({
      name: "syncup_synchronization_seconds",
      help: "Time to stage and apply one batch.",
      labelNames: ["connector", "mode"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers: [this.registry],
    });
    this.refusals = new Counter({
      name: "syncup_requests_refused_total",
      help: "API requests refused, by error code.",
      labelNames: ["code"],
      registers: [this.registry],
    });
    this.uploaded = new Counter({
      name: "syncup_uploaded_bytes_total",
      help: "Bytes of batch files received from agents.",
      registers: [this.registry],
    });
  }

  /** Records a batch the worker synchronized (or validated). */
  synchronized(report: SyncReport): void {
    this.outcomes.inc({ connector: report.connector, outcome: report.state });
    this.durations.observe({ connector: report.connector, mode: report.mode }, report.seconds);
    if (report.state === "blocked") this.blocks.inc({ connector: report.connector });
    if (report.state === "applied") this.applied(report);
  }

  /** Counts the rows of an applied batch. */
  applied(report: SyncReport): void {
    this.rows.inc({ kind: "resource", operation: "insert" }, report.resources.inserted);
    this.rows.inc({ kind: "resource", operation: "update" }, report.resources.updated);
    this.rows.inc({ kind: "resource", operation: "delete" }, report.resources.deleted);
    this.rows.inc({ kind: "link", operation: "insert" }, report.links.inserted);
    this.rows.inc({ kind: "link", operation: "delete" }, report.links.deleted);
  }

  failed(connector: string): void {
    this.outcomes.inc({ connector, outcome: "failed" });
  }

  refused(code: string): void {
    this.refusals.inc({ code });
  }

  bytes(n: number): void {
    this.uploaded.inc(n);
  }

  /** The worker read the queue. */
  queueRead(at: Date): void {
    this.queueReadAt.set(at.getTime() / 1000);
  }

  /** The worker could not read the queue, or lost the database during a batch. */
  queueFailed(): void {
    this.queueErrors.inc();
  }

  /**
   * The change feed's gauges, read at each scrape: the latest event, and per sink its cursor,
   * how far behind it is, its failed attempts in a row and its dead letters.
   */
  watchFeed(read: () => Promise<{ last: number; sinks: readonly SinkState[] }>): void {
    const state = () => read().catch(() => null);
    new Gauge({
      name: "syncup_feed_last_seq",
      help: "The change feed's latest event (sequence number).",
      registers: [this.registry],
      async collect() {
        const s = await state();
        if (s !== null) this.set(s.last);
      },
    });
    const perSink = (name: string, help: string, value: (sink: SinkState, last: number) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["sink"],
        registers: [this.registry],
        async collect() {
          const s = await state();
          this.reset();
          for (const sink of s?.sinks ?? []) this.set({ sink: sink.name }, value(sink, s?.last ?? 0));
        },
      });
    perSink("syncup_feed_sink_position", "The last event a sink delivered or set aside.", (k) => k.position);
    perSink("syncup_feed_sink_lag", "Events of the feed after a sink's cursor.", (k, last) =>
      Math.max(0, last - k.position),
    );
    perSink("syncup_feed_sink_failed_attempts", "A sink's failed attempts in a row.", (k) => k.attempts);
    perSink("syncup_feed_sink_dead_letters", "Events a sink gave up on (dead letters).", (k) => k.dead);
    perSink("syncup_feed_sink_delivered", "Events a sink delivered.", (k) => k.delivered);
  }
}
