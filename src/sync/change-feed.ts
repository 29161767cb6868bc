/**
 * The change feed's use cases over the store's outbox (`store/feed.ts`): writing a batch's
 * events in its apply's transaction (with the decision that let it through), and reading them
 * back as the contract's events (`protocol/change-feed.ts`), for the API, the CLI and the sinks.
 */
import type { Config } from "../config/config.js";
import { SyncupError } from "../errors.js";
import type {
  ChangeEvent,
  ChangePage,
  FeedDecision,
  FeedEnd,
  ReferenceEvent,
  ResourceValues,
  SinkView,
} from "../protocol/change-feed.js";
import type { Mode } from "../protocol/mode.js";
import type { FeedFilter, FeedJsonRow, FeedRow } from "../store/feed.js";
import type { DecisionRow } from "../store/journal.js";
import type { Store } from "../store/store.js";
import type { BatchRow } from "../store/types.js";

/** True when applies write the change feed (`server.changeFeed` is set). */
export function feedEnabled(config: Config): boolean {
  return config.server.changeFeed !== null;
}

/** The actions of the decision journal that let a batch through. */
const LETTING_THROUGH = new Set(["validate", "apply", "approve", "undo"]);

/**
 * What let a batch through, from its row, its decision journal and whether a decision rejected
 * some of its changes (`rejected`: the apply runs before the batch's row says `partial`).
 */
export function decisionOf(
  batch: BatchRow,
  decisions: readonly DecisionRow[],
  rejected: number,
): FeedDecision {
  const by = [...new Set(decisions.filter((d) => LETTING_THROUGH.has(d.action)).map((d) => d.principal))];
  if (batch.undoOf !== null) return { kind: "undo", by };
  if (batch.mode === "initial") return { kind: "initial", by };
  if (batch.partial || rejected > 0) return { kind: "partial", by };
  if (by.length > 0) return { kind: "validated", by };
  if (batch.forced) return { kind: "forced", by };
  return { kind: "automatic", by };
}

type FeedWrite = "batch" | "initial" | "removal";

/**
 * Writes the events of batch `batchId`, in the caller's transaction, when the feed is on:
 * `batch` after an apply (from its change rows), `initial` after an initial load (from the
 * rows it loaded), `removal` before a forced initial load replaces the connector's resources.
 */
export async function recordFeed(
  store: Store,
  config: Config,
  batchId: string,
  write: FeedWrite = "batch",
): Promise<number> {
  if (!feedEnabled(config)) return 0;
  const batch = await store.batches.get(batchId);
  if (batch === undefined) throw new Error(`batch ${batchId} not found for the change feed`);
  const decisions = await store.journal.decisions(batchId);
  // Only a decided batch can have rejected changes: an automatic one is not counted.
  const rejected = decisions.length === 0 ? 0 : (await store.journal.tally(batchId)).rejected;
  const decision = decisionOf(batch, decisions, rejected);
  const meta = {
    batchId,
    connector: batch.connector,
    mode: batch.mode,
    decision: JSON.stringify(decision),
    at: new Date().toISOString(),
  };
  if (write === "initial") return store.feed.recordInitial(meta);
  if (write === "removal") return store.feed.recordConnectorRemoval(meta);
  return store.feed.recordBatch(meta);
}

/**
 * The association and holding end of a mono-valued column, for the references that a cascade
 * or an initial load journals by column (`@i<column>`, holder first).
 */
export type ReferenceNames = (
  holderType: string,
  column: number,
) => { association: string; end: 1 | 2 } | null;

export function referenceNames(config: Config): ReferenceNames {
  const byColumn = new Map<string, { association: string; end: 1 | 2 }>();
  for (const a of Object.values(config.associations)) {
    if (a.end1.monoColumnIndex !== null)
      byColumn.set(`${a.end1.entityType}\u0000${a.end1.monoColumnIndex}`, { association: a.name, end: 1 });
    if (a.end2.monoColumnIndex !== null)
      byColumn.set(`${a.end2.entityType}\u0000${a.end2.monoColumnIndex}`, { association: a.name, end: 2 });
  }
  return (holderType, column) => byColumn.get(`${holderType}\u0000${column}`) ?? null;
}

/** A stored event as the contract's event. */
export function toChangeEvent(row: FeedRow, names: ReferenceNames): ChangeEvent {
  const base = {
    id: String(row.seq),
    seq: row.seq,
    at: row.at,
    batchId: row.batchId,
    connector: row.connector,
    mode: row.mode as Mode,
    decision: JSON.parse(row.decision) as FeedDecision,
  };
  if (row.kind === "resource") {
    const values = (uk: readonly (string | null)[], properties: string | null): ResourceValues | null =>
      properties === null
        ? null
        : { uniqueKeys: [...uk], properties: JSON.parse(properties) as Record<string, unknown> };
    return {
      ...base,
      kind: "resource",
      operation: row.operation,
      entityType: row.entityType ?? "",
      key: row.pk ?? "",
      before: values(row.beforeUk, row.beforeProperties),
      after: values(row.uk, row.properties),
    };
  }
  const operation = row.operation === "delete" ? "delete" : "insert";
  const end1: FeedEnd = { entityType: row.end1Type ?? "", key: row.end1Pk ?? "" };
  const end2: FeedEnd = { entityType: row.end2Type ?? "", key: row.end2Pk ?? "" };
  if (row.kind === "link") {
    return {
      ...base,
      kind: "link",
      operation,
      association: row.association ?? "",
      keys: [row.key1 ?? "", row.key2 ?? ""],
      ends: [end1, end2],
      cascaded: row.cascaded,
    };
  }
  const [holder, target] = row.monoEnd === 2 ? [end2, end1] : [end1, end2];
  const column = row.monoColumn ?? 0;
  let association = row.association ?? "";
  if (association.startsWith("@i"))
    association = names(holder.entityType, column)?.association ?? association;
  return {
    ...base,
    kind: "reference",
    operation,
    association,
    column,
    holder,
    target,
    cascaded: row.cascaded,
  };
}

/** An event as JSON text, with what routes it: its connector, kind, operation and scope. */
export type EncodedEvent = Omit<FeedJsonRow, "named">;

/** The most events one page returns. */
export const MAX_PAGE = 10_000;

/**
 * A cursor behind the retention (events after it were pruned) is refused with CHANGES_GONE: the
 * consumer must resynchronize from the repository, since the feed can no longer tell it
 * everything that changed.
 */
function refuseBehind(after: number, prunedThrough: number): void {
  if (after < prunedThrough) {
    throw new SyncupError(
      "CHANGES_GONE",
      `Events after ${after} are no longer kept: the feed was pruned through ${prunedThrough} (server.changeFeed retention). Resynchronize from the repository, then read the feed from ${prunedThrough}.`,
    );
  }
}

const pageLimit = (limit: number) => Math.min(Math.max(1, limit), MAX_PAGE);

/**
 * A page as JSON text: how many events it holds, and whether it is full (as many as its limit:
 * its events are then all committed and final, the next page starting after them).
 */
export interface PageJson {
  readonly json: string;
  readonly events: number;
  readonly full: boolean;
  readonly next: number;
  readonly last: number;
}

/** Reads pages of the feed; a cursor behind the retention is refused (`refuseBehind`). */
export class ChangeFeedReader {
  private readonly names: ReferenceNames;

  constructor(
    private readonly store: Store,
    config: Config,
  ) {
    this.names = referenceNames(config);
  }

  async page(filter: FeedFilter): Promise<ChangePage> {
    const { rows, next, last } = await this.rows(filter, (f) => this.store.feed.page(f));
    return { events: rows.map((r) => toChangeEvent(r, this.names)), next, last };
  }

  /**
   * The same page as JSON text, each event written by the database (`FeedRepository.pageJson`),
   * without building and serializing the events here (most of a page's cost otherwise).
   * `events` tells how many it holds.
   */
  async pageJson(filter: FeedFilter): Promise<PageJson> {
    const { rows, next, last } = await this.rows(filter, (f) => this.store.feed.pageText(f));
    const events = rows.map((r) => (r.named ? r.json : this.renamed(r.json).json)).join(",");
    return {
      json: `{"events":[${events}],"next":${next},"last":${last}}`,
      events: rows.length,
      full: rows.length === pageLimit(filter.limit),
      next,
      last,
    };
  }

  /** A page of events as JSON text each, with what routes them (the sinks read these). */
  async encoded(
    filter: FeedFilter,
  ): Promise<{ events: EncodedEvent[]; full: boolean; next: number; last: number }> {
    const { rows, next, last } = await this.rows(filter, (f) => this.store.feed.pageJson(f));
    return {
      events: rows.map((r) => this.named(r)),
      full: rows.length === pageLimit(filter.limit),
      next,
      last,
    };
  }

  /** The events of `seqs` that are still kept (a sink's dead letters), in sequence order. */
  async encodedOf(seqs: readonly number[]): Promise<EncodedEvent[]> {
    return (await this.store.feed.eventsJson(seqs)).map((r) => this.named(r));
  }

  /** A reference journaled by column (`@i<column>`) named by the association that maps the column. */
  private named(row: FeedJsonRow): EncodedEvent {
    if (row.named) return row;
    const { association, json } = this.renamed(row.json);
    return { ...row, scope: association, json };
  }

  private renamed(text: string): { association: string; json: string } {
    const event = JSON.parse(text) as ReferenceEvent;
    const association = this.names(event.holder.entityType, event.column)?.association ?? event.association;
    return { association, json: JSON.stringify({ ...event, association }) };
  }

  /** Refuses a cursor behind the retention (CHANGES_GONE). */
  async checkKept(after: number): Promise<void> {
    refuseBehind(after, (await this.store.feed.bounds()).prunedThrough);
  }

  private async rows<R extends { readonly seq: number }>(
    filter: FeedFilter,
    read: (filter: FeedFilter) => Promise<R[]>,
  ): Promise<{ rows: R[]; next: number; last: number }> {
    const bounds = await this.store.feed.bounds();
    refuseBehind(filter.after, bounds.prunedThrough);
    const limit = pageLimit(filter.limit);
    const rows = await read({ ...filter, limit });
    const lastRow = rows.at(-1)?.seq ?? 0;
    // A filtered page that found nothing still moves past what it scanned: up to the last event
    // that existed when it read (a full page stops at its last event).
    const next = rows.length === limit ? lastRow : Math.max(filter.after, bounds.last, lastRow);
    return { rows, next, last: Math.max(bounds.last, lastRow) };
  }

  /** The latest event's seq. */
  async last(): Promise<number> {
    return (await this.store.feed.bounds()).last;
  }
}

/** Every sink that has run, with its lag and latest dead letters. */
export async function sinkViews(store: Store, deadLetters = 20): Promise<SinkView[]> {
  const { last } = await store.feed.bounds();
  const views: SinkView[] = [];
  for (const s of await store.feedSinks.list()) {
    const dead = await store.feedSinks.deadLetters(s.name, deadLetters);
    views.push({
      ...s,
      lag: Math.max(0, last - s.position),
      deadLetters: dead.map((d) => ({ seq: d.seq, error: d.error, at: d.at })),
    });
  }
  return views;
}
