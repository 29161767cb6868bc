/**
 * Applies changes to a sorted state by a streaming merge-join: the next state, sorted. Per
 * change (see `change-collapse.ts`): insert and update set the row (replacing one that is
 * there), delete removes it (nothing when absent), merge inserts the row when absent, else
 * overlays its non-empty fields. Several changes of one key apply in order.
 */
import { applyChange } from "./change-collapse.js";
import type { Change, KeyColumns, Row } from "./rows.js";
import { JOIN_BATCH_ROWS, SortedStream } from "./rows.js";

const rowFields = (row: Row): Row => row;
const changeFields = (change: Change): string[] => change.fields;

/** Yields the rows of `previous` with `delta` applied, in key order, in batches. */
export async function* applyDelta(
  previous: AsyncIterable<string[][]>,
  delta: AsyncIterable<Change[]>,
  keyColumns: KeyColumns,
): AsyncGenerator<string[][]> {
  const state = new SortedStream(
    previous,
    rowFields,
    keyColumns,
    true,
    "The previous state",
    "PREVIOUS_INVALID",
  );
  const changes = new SortedStream(delta, changeFields, keyColumns, false, "The changes", "INTERNAL");
  try {
    await state.advance();
    await changes.advance();
    let out: string[][] = [];
    for (;;) {
      const row = state.item;
      const change = changes.item;
      if (row === undefined && change === undefined) break;
      const c = row === undefined ? 1 : change === undefined ? -1 : state.compare(changes);
      if (c < 0) {
        out.push(row as Row);
        if (!state.advanceSync()) await state.advance();
      } else {
        // The changes of this key, applied to its row (or to nothing).
        let current: string[] | undefined = c === 0 ? row : undefined;
        if (c === 0 && !state.advanceSync()) await state.advance();
        const key0 = changes.key0;
        const key1 = changes.key1;
        do {
          current = applyChange(current, changes.item as Change);
          if (!changes.advanceSync()) await changes.advance();
        } while (
          changes.item !== undefined &&
          changes.key0 === key0 &&
          (keyColumns === 1 || changes.key1 === key1)
        );
        if (current !== undefined) out.push(current);
      }
      if (out.length >= JOIN_BATCH_ROWS) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    await Promise.all([state.close(), changes.close()]);
  }
}
