import { BatchCursor } from "./rows.js";

/**
 * One item at a time over a stream of batches, with the current item always at hand: the
 * shape the merge-joins between a sorted file and the repository read best. A thin view of
 * `BatchCursor`, which does the batch walking.
 */
export class Cursor<T> {
  /** The current item, or undefined once the stream is exhausted. */
  current: T | undefined;

  private constructor(private readonly items: BatchCursor<T>) {}

  /** A cursor on the first item of `source`. */
  static async open<T>(source: AsyncIterable<readonly T[]>): Promise<Cursor<T>> {
    const cursor = new Cursor(new BatchCursor(source as AsyncIterable<T[]>));
    await cursor.advance();
    return cursor;
  }

  /** Moves to the next item. */
  async advance(): Promise<void> {
    this.current = this.items.ready || (await this.items.fill()) ? this.items.take() : undefined;
  }

  /**
   * Moves to the next item at once when the current batch holds it (undefined), or returns the
   * promise of `advance`: the merge-joins step through millions of rows, and an await per row
   * costs more than the comparison it waits for.
   */
  step(): Promise<void> | undefined {
    if (!this.items.ready) return this.advance();
    this.current = this.items.take();
    return undefined;
  }

  /** Stops reading early, releasing the source (a cursor, a file). */
  async close(): Promise<void> {
    this.current = undefined;
    await this.items.close();
  }
}
