/**
 * Pushes the change feed to the configured sinks, each in a loop of its own with a durable
 * cursor (`UR_FeedSinks`), and prunes the feed by its retention.
 *
 *   read the events after the cursor (batchSize) ─▶ keep the sink's filter ─▶ deliver ─▶ cursor
 *        ▲                                                                      │ fails
 *        └── wait retryMs · 2^attempts (≤ 5 min) ◀── attempts < maxAttempts ◀───┘
 *                                     otherwise: dead letters, cursor past them
 *
 * Guarantee: at least once, in sequence order (so in order per connector). The cursor moves
 * only after the sink confirmed, so a process killed between a delivery and its cursor update
 * delivers those events again, with the same ids; consumers de-duplicate by event id. Events
 * a sink gave up on are its dead letters (`syncup changes sinks`, /metrics), and the events
 * after them go on. Pruning never deletes what a configured sink has not passed yet.
 */
import type { Logger } from "pino";
import type { ChangeFeedDef, Config, FeedFilterDef, FeedSinkDef } from "../config/config.js";
import { SyncupError } from "../errors.js";
import type { ReplayOutcome } from "../protocol/change-feed.js";
import type { Store } from "../store/store.js";
import { ChangeFeedReader, type EncodedEvent } from "../sync/change-feed.js";
import { sinkFor, type Sink } from "./sinks.js";

/** Runs the store's statements one section at a time (the server's mutex). */
export type Serialize = <T>(fn: () => Promise<T>) => Promise<T>;

export interface PusherOptions {
  readonly config: Config;
  readonly store: Store;
  readonly serialize: Serialize;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** Between two looks at the feed when a sink is caught up; default 250 ms. */
  readonly pollMs?: number;
  /** Between two prunings; default one minute. */
  readonly pruneMs?: number;
  /** Test hook: makes a sink from its definition. */
  readonly sinkFor?: (def: FeedSinkDef) => Sink;
}

const MAX_BACKOFF_MS = 300_000;

/** Whether a sink's filter lets an event through. */
export function passes(filter: FeedFilterDef, event: EncodedEvent): boolean {
  if (filter.connectors !== null && !filter.connectors.includes(event.connector)) return false;
  if (filter.entityTypes !== null && !filter.entityTypes.includes(event.scope)) return false;
  return filter.operations === null || filter.operations.includes(event.operation);
}

export class FeedPusher {
  private readonly feed: ChangeFeedDef | null;
  private readonly reader: ChangeFeedReader;
  private readonly sinks: { def: FeedSinkDef; sink: Sink }[];
  private readonly loops: Promise<void>[] = [];
  private stopped = false;
  /** The sleeps that end early: the sinks' (`wake`) and, at `stop`, the pruning's too. */
  private wakers = new Set<() => void>();
  private pruneWakers = new Set<() => void>();

  constructor(private readonly options: PusherOptions) {
    this.feed = options.config.server.changeFeed;
    this.reader = new ChangeFeedReader(options.store, options.config);
    const make = options.sinkFor ?? ((def: FeedSinkDef) => sinkFor(def, options.env));
    this.sinks = (this.feed?.sinks ?? []).map((def) => ({ def, sink: make(def) }));
  }

  start(): void {
    if (this.feed === null) return;
    for (const s of this.sinks) this.loops.push(this.run(s.def, s.sink));
    this.loops.push(this.pruneLoop());
  }

  /** Looks at the feed now (an apply just committed). */
  wake(): void {
    for (const w of [...this.wakers]) w();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    for (const w of [...this.pruneWakers]) w();
    await Promise.all(this.loops);
    for (const s of this.sinks) await s.sink.close();
  }

  /**
   * Delivers sink `name`'s dead letters again, oldest first, in its deliveries' size; each
   * delivery the sink takes is no longer a dead letter. They arrive after newer events, with
   * their own ids and sequence numbers. Stops at the first failure (SINK_DELIVERY_FAILED: what
   * was taken before it stays taken). An event the retention pruned cannot be delivered: its
   * dead letter stays, and the outcome names it.
   */
  async replay(name: string): Promise<ReplayOutcome> {
    const entry = this.sinks.find((s) => s.def.name === name);
    if (entry === undefined) {
      throw new SyncupError(
        "SINK_NOT_FOUND",
        `No sink named "${name}" in server.changeFeed.sinks (${this.sinks.map((s) => s.def.name).join(", ") || "none"}).`,
      );
    }
    const { store, serialize } = this.options;
    const gone: number[] = [];
    let replayed = 0;
    for (let after = 0; ;) {
      const seqs = await serialize(() => store.feedSinks.deadSeqs(name, after, entry.def.batchSize));
      if (seqs.length === 0) return { sink: name, replayed, gone };
      after = seqs.at(-1) ?? after;
      const events = await serialize(() => this.reader.encodedOf(seqs));
      const kept = new Set(events.map((e) => e.seq));
      gone.push(...seqs.filter((s) => !kept.has(s)));
      if (events.length === 0) continue;
      try {
        await entry.sink.deliver(events);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new SyncupError(
          "SINK_DELIVERY_FAILED",
          `Sink ${name} did not take dead letters ${events[0]?.seq}…${events.at(-1)?.seq} (${message}); ${replayed} were delivered before. Run the replay again once the receiver is back.`,
        );
      }
      await serialize(() => store.feedSinks.revived(name, [...kept]));
      replayed += events.length;
    }
  }

  /** Prunes the feed once: by age and row count, never past the slowest configured sink. */
  async prune(): Promise<number> {
    const feed = this.feed;
    if (feed === null) return 0;
    const { store, serialize } = this.options;
    return serialize(async () => {
      const bounds = await store.feed.bounds();
      let floor = bounds.last;
      for (const { def } of this.sinks) {
        floor = Math.min(floor, (await store.feedSinks.ensure(def.name, bounds.prunedThrough)).position);
      }
      return store.feed.prune({
        before: new Date(Date.now() - feed.retentionMs).toISOString(),
        keepRows: feed.retentionRows,
        floor,
      });
    });
  }

  private async pruneLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.prune();
      } catch (error) {
        this.options.log.warn({ err: error }, "the change feed could not be pruned");
      }
      await this.sleep(this.options.pruneMs ?? 60_000, this.pruneWakers);
    }
  }

  private async run(def: FeedSinkDef, sink: Sink): Promise<void> {
    const { store, serialize, log } = this.options;
    type Page = Awaited<ReturnType<ChangeFeedReader["encoded"]>>;
    const read = (after: number) => serialize(() => this.reader.encoded({ after, limit: def.batchSize }));
    // After a full page, the next is read while this one is delivered (used if the cursor is then its start).
    let ahead: { after: number; page: Promise<Page | null> } | null = null;
    while (!this.stopped) {
      try {
        const state = await serialize(async () =>
          store.feedSinks.ensure(def.name, (await store.feed.bounds()).prunedThrough),
        );
        const due = state.retryAt === null ? 0 : Date.parse(state.retryAt) - Date.now();
        if (due > 0) {
          await this.sleep(due);
          continue;
        }
        const held: Page | null = ahead?.after === state.position ? await ahead.page : null;
        ahead = null;
        const page: Page = held ?? (await read(state.position));
        const last = page.events.at(-1)?.seq;
        if (last === undefined) {
          await this.sleep(this.options.pollMs ?? 250);
          continue;
        }
        if (page.full) ahead = { after: last, page: read(last).catch(() => null) };
        const events = page.events.filter((e) => passes(def.filter, e));
        try {
          if (events.length > 0) await sink.deliver(events);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (state.attempts + 1 >= def.maxAttempts) {
            log.error(
              { sink: def.name, from: events[0]?.seq, to: last, error: message },
              `sink ${def.name}: ${events.length} events set aside as dead letters after ${def.maxAttempts} attempts`,
            );
            await serialize(() =>
              store.feedSinks.deadLetter(
                def.name,
                events.map((e) => e.seq),
                message,
              ),
            );
          } else {
            const wait = Math.min(def.retryMs * 2 ** state.attempts, MAX_BACKOFF_MS);
            log.warn(
              { sink: def.name, attempt: state.attempts + 1, waitMs: wait, error: message },
              `sink ${def.name}: delivery failed (${message}); retrying in ${Math.round(wait / 100) / 10} s`,
            );
            await serialize(() =>
              store.feedSinks.failed(def.name, message, new Date(Date.now() + wait).toISOString()),
            );
          }
          continue;
        }
        await serialize(() => store.feedSinks.delivered(def.name, last, events.length));
      } catch (error) {
        log.warn({ sink: def.name, err: error }, `sink ${def.name}: cannot read the change feed`);
        await this.sleep(1000);
      }
    }
  }

  private sleep(ms: number, wakers = this.wakers): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });
  }
}
