/**
 * Shared shapes of row streams. A row is the list of a CSV line's fields; streams carry
 * batches of rows (never one promise per row). Entity files are keyed by column 0, association
 * files by the pair of columns 0 and 1; keys are ordered ordinally (see `ordinal.ts`).
 */
import { compareOrdinal } from "./ordinal.js";
import { SyncupError } from "../errors.js";
import type { ErrorCode } from "../errors.js";

/** One CSV line's fields. */
export type Row = string[];

/** A batch of rows, the unit of every row stream. */
export type RowBatch = string[][];

/** Number of leading columns that form the key: 1 for entities, 2 for associations. */
export type KeyColumns = 1 | 2;

/** What a row of an incremental export does to the object with its key. */
export type DeltaCommand = "insert" | "update" | "delete" | "merge";

/** One change of an incremental export: the command and the row (key columns first). */
export interface Change {
  command: DeltaCommand;
  fields: string[];
  /** 1-based line in the export, for messages. */
  line?: number;
}

/** Compares the keys of two rows ordinally: column 0, then column 1 for associations. */
export function compareKeys(a: readonly string[], b: readonly string[], keyColumns: KeyColumns): number {
  const c = compareOrdinal(a[0] ?? "", b[0] ?? "");
  if (c !== 0 || keyColumns === 1) return c;
  return compareOrdinal(a[1] ?? "", b[1] ?? "");
}

/** Whether two rows have the same key. */
export function sameKey(a: readonly string[], b: readonly string[], keyColumns: KeyColumns): boolean {
  return a[0] === b[0] && (keyColumns === 1 || a[1] === b[1]);
}

/** The key of a row as text for messages: `"a"` or `("a", "b")`. */
export function describeKey(row: readonly string[], keyColumns: KeyColumns): string {
  if (keyColumns === 1) return JSON.stringify(row[0] ?? "");
  return `(${JSON.stringify(row[0] ?? "")}, ${JSON.stringify(row[1] ?? "")})`;
}

/**
 * Reads a batched stream one item at a time, with look-ahead, for merge-joins. Only one
 * promise per batch: `peek()`/`take()` are synchronous once `fill()` has resolved.
 */
export class BatchCursor<T> {
  private readonly iterator: AsyncIterator<T[]>;
  private batch: T[] = [];
  private index = 0;
  private done = false;

  constructor(source: AsyncIterable<T[]>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Makes the next item available; resolves to false at the end of the stream. */
  async fill(): Promise<boolean> {
    while (this.index >= this.batch.length) {
      if (this.done) return false;
      const next = await this.iterator.next();
      if (next.done === true) {
        this.done = true;
        this.batch = [];
        this.index = 0;
        return false;
      }
      this.batch = next.value;
      this.index = 0;
    }
    return true;
  }

  /** Whether an item is available without awaiting. */
  get ready(): boolean {
    return this.index < this.batch.length;
  }

  /** The next item; only valid after `fill()` resolved to true (or `ready`). */
  peek(): T {
    return this.batch[this.index] as T;
  }

  /** Consumes and returns the next item; only valid when `ready`. */
  take(): T {
    return this.batch[this.index++] as T;
  }

  /** Stops reading the source early (lets generators run their cleanup). */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      this.batch = [];
      this.index = 0;
      await this.iterator.return?.();
    }
  }
}

/** A code unit where JavaScript's `<` may disagree with ordinal order. */
const WIDE = /[\ud800-\uffff]/;

/** Rows (or changes) per yielded batch of the merge-joins. */
export const JOIN_BATCH_ROWS = 4096;

/** The current key of a {@link SortedStream}. */
export interface CurrentKey {
  readonly key0: string;
  readonly key1: string;
  readonly wide: boolean;
}

/**
 * A sorted stream read item by item for a merge-join, checking that keys increase (strictly
 * when `unique`). The current item's key columns are kept with a flag saying whether `<` can be
 * trusted for them (no code unit at or above U+D800), so most comparisons are native.
 */
export class SortedStream<T> {
  /** The current item; undefined before the first `advance()` and at the end. */
  item: T | undefined;
  key0 = "";
  key1 = "";
  wide = false;
  /** Items taken so far (the current item's 1-based position). */
  position = 0;
  private readonly cursor: BatchCursor<T>;
  private readonly two: boolean;

  constructor(
    source: AsyncIterable<T[]>,
    private readonly fieldsOf: (item: T) => readonly string[],
    keyColumns: KeyColumns,
    private readonly unique: boolean,
    /** Names the stream in messages, e.g. "the previous state". */
    private readonly name: string,
    private readonly code: ErrorCode,
  ) {
    this.cursor = new BatchCursor(source);
    this.two = keyColumns === 2;
  }

  /** Moves to the next item without waiting; false when a batch must be read (`advance()`). */
  advanceSync(): boolean {
    if (!this.cursor.ready) return false;
    this.take(this.cursor.take());
    return true;
  }

  /** Moves to the next item (undefined at the end). */
  async advance(): Promise<void> {
    if (this.advanceSync()) return;
    if (await this.cursor.fill()) this.take(this.cursor.take());
    else this.item = undefined;
  }

  /** Compares the current keys of two streams (both must have an item). */
  compare(other: CurrentKey): number {
    return compareKeyParts(this.key0, this.key1, this.wide, other.key0, other.key1, other.wide, this.two);
  }

  /** Whether the current keys of two streams are equal. */
  sameKey(other: CurrentKey): boolean {
    return this.key0 === other.key0 && (!this.two || this.key1 === other.key1);
  }

  /** The current item's key for messages. */
  describeKey(): string {
    return this.two
      ? `(${JSON.stringify(this.key0)}, ${JSON.stringify(this.key1)})`
      : JSON.stringify(this.key0);
  }

  /** Stops reading the source. */
  close(): Promise<void> {
    return this.cursor.close();
  }

  private take(item: T): void {
    const fields = this.fieldsOf(item);
    const key0 = fields[0] ?? "";
    const key1 = this.two ? (fields[1] ?? "") : "";
    const wide = WIDE.test(key0) || (this.two && WIDE.test(key1));
    if (this.position > 0) {
      // Keys mostly increase: try `<` first (comparisons of sliced strings are not cheap).
      const c =
        !wide && !this.wide && this.key0 < key0
          ? -1
          : compareKeyParts(this.key0, this.key1, this.wide, key0, key1, wide, this.two);
      if (c > 0 || (c === 0 && this.unique)) {
        const before = this.describeKey();
        this.item = item;
        this.key0 = key0;
        this.key1 = key1;
        const key = this.describeKey();
        throw new SyncupError(
          this.code,
          c === 0
            ? `${this.name} has the key ${key} twice (rows ${this.position} and ${this.position + 1}); it must be sorted by key and unique.`
            : `${this.name} is not sorted by key: row ${this.position + 1} has the key ${key}, which sorts before ${before} of row ${this.position}.`,
        );
      }
    }
    this.item = item;
    this.key0 = key0;
    this.key1 = key1;
    this.wide = wide;
    this.position++;
  }
}

/** Compares keys given as columns, natively unless a column may need `compareOrdinal`. */
function compareKeyParts(
  a0: string,
  a1: string,
  aWide: boolean,
  b0: string,
  b1: string,
  bWide: boolean,
  two: boolean,
): number {
  if (aWide || bWide) {
    const c = compareOrdinal(a0, b0);
    return c !== 0 || !two ? c : compareOrdinal(a1, b1);
  }
  if (a0 !== b0) return a0 < b0 ? -1 : 1;
  if (!two || a1 === b1) return 0;
  return a1 < b1 ? -1 : 1;
}
