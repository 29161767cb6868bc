/**
 * Walks a stream of batches one item at a time, reading the next batch only when the current
 * one is used up: the building block of the merge-joins between a sorted file and the
 * repository streamed in the same order.
 */
export class Cursor<T> {
  /** The current item, or undefined once the stream is exhausted. */
  current: T | undefined;
  private batch: readonly T[] = [];
  private index = 0;
  private readonly iterator: AsyncIterator<readonly T[]>;

  private constructor(source: AsyncIterable<readonly T[]>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** A cursor on the first item of `source`. */
  static async open<T>(source: AsyncIterable<readonly T[]>): Promise<Cursor<T>> {
    const cursor = new Cursor(source);
    await cursor.load();
    return cursor;
  }

  /** Moves to the next item. */
  async advance(): Promise<void> {
    if (++this.index < this.batch.length) {
      this.current = this.batch[this.index];
      return;
    }
    await this.load();
  }

  /** Stops reading early, releasing the source (a cursor, a file). */
  async close(): Promise<void> {
    this.current = undefined;
    await this.iterator.return?.();
  }

  private async load(): Promise<void> {
    for (;;) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.current = undefined;
        this.batch = [];
        return;
      }
      if (next.value.length > 0) {
        this.batch = next.value;
        this.index = 0;
        this.current = next.value[0];
        return;
      }
    }
  }
}
