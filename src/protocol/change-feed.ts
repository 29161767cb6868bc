/**
 * The change feed's contract: the events that `GET /api/v1/changes` returns, `syncup changes
 * tail` prints and the sinks push, and the subject (routing key) of each. A consumer reads it
 * alone: it imports nothing of ours.
 *
 * An event is one applied change, numbered by a global sequence (`seq`) without gaps, in the
 * order in which the apply made the changes: within a batch, resources inserted and updated,
 * then links and references removed, then links and references added, then what deleted
 * resources took along (`cascaded`), then the resources deleted. Replaying the events in
 * sequence order from 0 onto an empty repository rebuilds its resources, links and references.
 */
import type { Mode } from "./mode.js";

export const CHANGE_KINDS = ["resource", "link", "reference"] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
export const CHANGE_OPERATIONS = ["insert", "update", "delete"] as const;
export type ChangeOperation = (typeof CHANGE_OPERATIONS)[number];

/**
 * What let a batch's changes through: `automatic` (within its thresholds), `forced` (run with
 * --force), `validated` (blocked or previewed, then validated or applied as a whole),
 * `partial` (applied in part after a decision on its changes), `undo` (an undo batch),
 * `initial` (an initial load); `by` names who decided, in the order they did.
 */
export interface FeedDecision {
  readonly kind: "automatic" | "forced" | "validated" | "partial" | "undo" | "initial";
  readonly by: readonly string[];
}

/** A resource's values: its unique keys (uk1…uk3) and its scalar properties. */
export interface ResourceValues {
  readonly uniqueKeys: readonly (string | null)[];
  readonly properties: Readonly<Record<string, unknown>>;
}

/** One end of a link or reference: its entity type and primary key. */
export interface FeedEnd {
  readonly entityType: string;
  readonly key: string;
}

interface EventBase {
  /** The event's id: its sequence number as a string; message ids of the brokers too. */
  readonly id: string;
  readonly seq: number;
  /** When the apply wrote it (ISO 8601). */
  readonly at: string;
  readonly batchId: string;
  readonly connector: string;
  readonly mode: Mode;
  readonly decision: FeedDecision;
}

/** A resource inserted (before: null), updated, or deleted (after: null). */
export interface ResourceEvent extends EventBase {
  readonly kind: "resource";
  readonly operation: ChangeOperation;
  readonly entityType: string;
  readonly key: string;
  readonly before: ResourceValues | null;
  readonly after: ResourceValues | null;
}

/** A link of a multi-valued association added or removed. */
export interface LinkEvent extends EventBase {
  readonly kind: "link";
  readonly operation: "insert" | "delete";
  readonly association: string;
  /** The two values of the association file's row (each end's key or unique key). */
  readonly keys: readonly [string, string];
  /** The association's first and second ends. */
  readonly ends: readonly [FeedEnd, FeedEnd];
  /** Removed because one of its ends was deleted. */
  readonly cascaded: boolean;
}

/** A mono-valued reference set or cleared: `holder`'s column `i<column>` names `target`. */
export interface ReferenceEvent extends EventBase {
  readonly kind: "reference";
  readonly operation: "insert" | "delete";
  readonly association: string;
  readonly column: number;
  readonly holder: FeedEnd;
  readonly target: FeedEnd;
  readonly cascaded: boolean;
}

export type ChangeEvent = ResourceEvent | LinkEvent | ReferenceEvent;

/** A page of `GET /api/v1/changes`: events after `after`, and the cursor to ask from next. */
export interface ChangePage {
  readonly events: readonly ChangeEvent[];
  /** The `after` of the next request: the last event's seq (or the filter's progress). */
  readonly next: number;
  /** The latest event's seq in the feed, whatever the filters. */
  readonly last: number;
}

/**
 * The subject (NATS) or routing key (RabbitMQ) of an event:
 * `syncup.<connector>.<entity type or association>.<operation>`. Dots and the wildcards `*`,
 * `>` and `#` in a name are replaced by `_`, so that a name is always one token.
 */
export function subjectOf(event: ChangeEvent, prefix = "syncup"): string {
  const scope = event.kind === "resource" ? event.entityType : event.association;
  return subjectFor({ connector: event.connector, scope, operation: event.operation }, prefix);
}

/** `subjectOf` from an event's connector, scope (entity type or association) and operation. */
export function subjectFor(
  head: { readonly connector: string; readonly scope: string; readonly operation: ChangeOperation },
  prefix = "syncup",
): string {
  return [prefix, token(head.connector), token(head.scope), head.operation].join(".");
}

function token(name: string): string {
  return name.replace(/[.*>#\s]/g, "_");
}

/** `GET` the feed: `?after=<seq>&limit=<n>&connector=<name>&entityType=<name>&wait=<30s>`. */
export const CHANGES_PATH = "/api/v1/changes";

/** The longest a `wait` may be: a long poll answers within it, with or without events. */
export const MAX_WAIT_MS = 60_000;

/** `30s`, `500ms` or a number of seconds, in milliseconds; undefined when it is none of these. */
export function parseWait(text: string): number | undefined {
  const m = /^(\d+)(ms|s)?$/.exec(text);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : n * 1000;
}

/** What `syncup changes replay <sink>` (`POST /api/v1/changes/sinks/<sink>/replay`) did. */
export interface ReplayOutcome {
  readonly sink: string;
  /** Dead letters the sink took this time: no longer dead letters. */
  readonly replayed: number;
  /** Dead letters whose events the retention pruned: they stay, and cannot be delivered. */
  readonly gone: readonly number[];
}

/** A push sink as `GET /api/v1/changes/sinks` and `syncup changes sinks` show it. */
export interface SinkView {
  readonly name: string;
  /** The last event delivered or set aside. */
  readonly position: number;
  /** Events of the feed after `position`. */
  readonly lag: number;
  /** Failed attempts in a row at the events after `position`. */
  readonly attempts: number;
  readonly lastError: string | null;
  readonly retryAt: string | null;
  readonly delivered: number;
  readonly dead: number;
  readonly updatedAt: string;
  /** The latest dead letters, newest first. */
  readonly deadLetters: readonly { readonly seq: number; readonly error: string; readonly at: string }[];
}
