/**
 * The changes between two complete states by a merge-join of their sorted rows: a key only in
 * `next` is inserted, a key only in `previous` deleted, a key in both with any field changed
 * updated. Both inputs must be sorted by key and unique; an input found otherwise stops the
 * merge with an error saying which.
 */
import type { KeyColumns, Row } from "./rows.js";
import { JOIN_BATCH_ROWS, SortedStream } from "./rows.js";

export interface DeltaRow {
  command: "insert" | "update" | "delete";
  /** insert/update: the row of `next`; delete: the key columns, the other columns "". */
  fields: string[];
}

const identity = (row: Row): Row => row;

/**
 * Yields the changes from `previous` to `next` in key order, in batches. For associations
 * (`keyColumns` 2: the row is the pair) only inserts and deletes occur.
 */
export async function* mergeDelta(
  previous: AsyncIterable<string[][]>,
  next: AsyncIterable<string[][]>,
  keyColumns: KeyColumns,
): AsyncGenerator<DeltaRow[]> {
  const before = new SortedStream(
    previous,
    identity,
    keyColumns,
    true,
    "The previous state",
    "PREVIOUS_INVALID",
  );
  const after = new SortedStream(next, identity, keyColumns, true, "The new state", "INTERNAL");
  try {
    await before.advance();
    await after.advance();
    let out: DeltaRow[] = [];
    for (;;) {
      const old = before.item;
      const row = after.item;
      if (old === undefined && row === undefined) break;
      const c = old === undefined ? 1 : row === undefined ? -1 : before.compare(after);
      if (c > 0) {
        out.push({ command: "insert", fields: row as Row });
        if (!after.advanceSync()) await after.advance();
      } else if (c < 0) {
        out.push({ command: "delete", fields: deletion(old as Row, keyColumns) });
        if (!before.advanceSync()) await before.advance();
      } else {
        if (keyColumns === 1 && changed(old as Row, row as Row)) {
          out.push({ command: "update", fields: row as Row });
        }
        if (!before.advanceSync()) await before.advance();
        if (!after.advanceSync()) await after.advance();
      }
      if (out.length >= JOIN_BATCH_ROWS) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    await Promise.all([before.close(), after.close()]);
  }
}

/** A deletion's fields: the key columns, the other columns of the row empty. */
function deletion(row: Row, keyColumns: KeyColumns): string[] {
  const fields = new Array<string>(row.length).fill("");
  for (let k = 0; k < keyColumns && k < row.length; k++) fields[k] = row[k] as string;
  return fields;
}

function changed(a: Row, b: Row): boolean {
  if (a.length !== b.length) return true;
  for (let k = 1; k < a.length; k++) if (a[k] !== b[k]) return true;
  return false;
}
