/**
 * Shared shapes of row streams. A row is the list of a CSV line's fields; streams carry
 * batches of rows (never one promise per row). Entity files are keyed by column 0, association
 * files by the pair of columns 0 and 1; keys are ordered ordinally (see `ordinal.ts`).
 */
import { compareOrdinal } from "./ordinal.js";

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
