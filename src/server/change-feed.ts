/**
 * The change feed as the API serves it: pages of events in sequence order, and the long poll
 * (`wait`): a request that finds no event waits until one is committed or the wait ends. One
 * timer per server reads the feed's last sequence number every `pollMs` while requests wait
 * (200 ms: a consumer sees a commit within a second, whichever process applied it), instead of
 * each waiting request querying the database.
 *
 * Read-ahead: after a full page, the next page of the same query is read while the consumer
 * takes in this one, and served if the consumer asks for it within a few seconds. A full page's
 * events are committed and final (the feed commits in sequence order), so the page read ahead
 * is the one a later read would find; the retention is checked again when it is served.
 */
import type { Config } from "../config/config.js";
import { SyncupError } from "../errors.js";
import type { FeedPusher } from "../feed/pusher.js";
import type { ReplayOutcome, SinkView } from "../protocol/change-feed.js";
import type { Store } from "../store/store.js";
import { ChangeFeedReader, sinkViews, type PageJson } from "../sync/change-feed.js";
import { requireAdmin, requireApprover, type Principal } from "./auth.js";
import type { Mutex } from "./mutex.js";

export interface FeedQuery {
  readonly after: number;
  readonly limit: number;
  readonly connector?: string | undefined;
  readonly entityType?: string | undefined;
  readonly waitMs: number;
}

/** How long a page read ahead waits for its consumer, and how many are kept at most. */
const AHEAD_MS = 5000;
const AHEAD_PAGES = 8;

interface Ahead {
  readonly page: Promise<PageJson | null>;
  readonly expires: number;
}

interface Waiter {
  readonly last: number;
  readonly wake: () => void;
}

export class ChangeFeedService {
  private readonly reader: ChangeFeedReader;
  private readonly waiters = new Set<Waiter>();
  private readonly ahead = new Map<string, Ahead>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly deps: {
      readonly config: Config;
      readonly store: Store;
      readonly mutex: Mutex;
      readonly pusher: FeedPusher;
    },
    private readonly pollMs = 200,
  ) {
    this.reader = new ChangeFeedReader(deps.store, deps.config);
  }

  /**
   * A page of events after `query.after`, as the JSON text of a `ChangePage`; with `waitMs`,
   * waits for one that long at most.
   */
  async page(principal: Principal, query: FeedQuery): Promise<string> {
    requireAdmin(principal, "read the change feed");
    if (this.deps.config.server.changeFeed === null) {
      throw new SyncupError(
        "NOT_FOUND",
        "The change feed is off: set server.changeFeed in the configuration, then applies write it.",
      );
    }
    const deadline = Date.now() + query.waitMs;
    let after = query.after;
    for (;;) {
      const page = await this.read({ ...query, after });
      if (page.events > 0 || this.closed || Date.now() >= deadline) return page.json;
      await this.changed(page.last, deadline);
      after = page.next;
    }
  }

  /** The page the read-ahead holds for `query`, or one read now; a full page has the next read ahead. */
  private async read(query: FeedQuery): Promise<PageJson> {
    const key = aheadKey(query);
    const held = this.ahead.get(key);
    this.ahead.delete(key);
    let page = held !== undefined && held.expires > Date.now() ? await held.page : null;
    if (page !== null) await this.deps.mutex.run(() => this.reader.checkKept(query.after));
    else page = await this.deps.mutex.run(() => this.reader.pageJson(query));
    if (page.full && !this.closed) this.readAhead({ ...query, after: page.next });
    return page;
  }

  private readAhead(query: FeedQuery): void {
    const now = Date.now();
    for (const [key, a] of this.ahead)
      if (a.expires <= now || this.ahead.size >= AHEAD_PAGES) this.ahead.delete(key);
    // A failed read ahead is read again when asked for, and reports its error then.
    const page = this.deps.mutex.run(() => this.reader.pageJson(query)).catch(() => null);
    this.ahead.set(aheadKey(query), { page, expires: now + AHEAD_MS });
  }

  /** Each push sink's cursor, lag, failures and latest dead letters. */
  sinks(principal: Principal): Promise<SinkView[]> {
    requireAdmin(principal, "read the change feed's sinks");
    return this.deps.mutex.run(() => sinkViews(this.deps.store));
  }

  /** Delivers a sink's dead letters again (an approver's decision). */
  replay(principal: Principal, sink: string): Promise<ReplayOutcome> {
    requireApprover(principal, "replay a sink's dead letters");
    return this.deps.pusher.replay(sink);
  }

  /** Ends the waits (the server is closing): each answers with what it has. */
  close(): void {
    this.closed = true;
    this.ahead.clear();
    for (const w of this.waiters) w.wake();
  }

  /** Resolves once an event after `last` is committed, or at `deadline`. */
  private changed(last: number, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const timeout = setTimeout(() => waiter.wake(), Math.max(0, deadline - Date.now()));
      const waiter: Waiter = {
        last,
        wake: () => {
          clearTimeout(timeout);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      this.waiters.add(waiter);
      this.timer ??= setInterval(() => void this.poll(), this.pollMs);
    });
  }

  private async poll(): Promise<void> {
    if (this.waiters.size === 0) {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    const last = await this.deps.mutex
      .run(() => this.deps.store.feed.bounds())
      .then((b) => b.last)
      .catch(() => null);
    if (last === null) return;
    for (const w of this.waiters) if (w.last < last) w.wake();
  }
}

const aheadKey = (q: FeedQuery) =>
  JSON.stringify([q.after, q.limit, q.connector ?? null, q.entityType ?? null]);
