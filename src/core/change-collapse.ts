/**
 * Incremental exports may carry a command per row (insert, update, delete, merge). Several
 * changes of one key collapse into their net effect, so that each key is changed once.
 *
 * One change applied to a state (key → row): insert sets the row (the key was absent); update
 * replaces the whole row (the key was present); delete removes it; merge inserts the row when
 * the key is absent, else every non-empty field of the merge row replaces the current value and
 * empty fields leave it. The net effect of the changes of one key, in file order:
 * - the first is an insert (the object was created within the batch): nothing when it ends
 *   absent, else an insert of the final row;
 * - else, when a delete occurred: a delete when it ends absent, else (deleted, then created
 *   again) an update with the final row (a full replacement);
 * - else, when all are merges: one merge, the overlay of all of them in order;
 * - else (an update, maybe with merges): an update with the final row, the last update
 *   overlaid with the merges after it.
 * Applying the net effect to any state the changes fit gives the state applying them one by
 * one gives. For associations (the row is the pair) an update or merge is an insert.
 */
import type { Change, DeltaCommand, KeyColumns } from "./rows.js";
import { JOIN_BATCH_ROWS } from "./rows.js";

const COMMANDS: Readonly<Record<string, DeltaCommand>> = {
  insert: "insert",
  add: "insert",
  update: "update",
  delete: "delete",
  merge: "merge",
};

/** The command a `command` column's text names (any case; "add" means insert), else undefined. */
export function parseCommand(text: string): DeltaCommand | undefined {
  const name = text.trim().toLowerCase();
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

/** Overlays a merge row on a row: non-empty fields of `merge` replace those of `row`. */
export function overlay(row: readonly string[], merge: readonly string[]): string[] {
  const width = Math.max(row.length, merge.length);
  const result = new Array<string>(width);
  for (let k = 0; k < width; k++) {
    const m = merge[k] ?? "";
    result[k] = m !== "" ? m : (row[k] ?? "");
  }
  return result;
}

/** Applies one change to the state of its key (undefined: absent). */
export function applyChange(state: string[] | undefined, change: Change): string[] | undefined {
  switch (change.command) {
    case "insert":
    case "update":
      return change.fields;
    case "delete":
      return undefined;
    case "merge":
      return state === undefined ? change.fields : overlay(state, change.fields);
  }
}

/** The net effect of one key's changes in file order (see the module comment). */
export function collapseChanges(changes: readonly Change[]): Change | undefined {
  const first = changes[0];
  if (first === undefined) return undefined;
  const last = changes[changes.length - 1] as Change;
  const line = last.line;
  const make = (command: DeltaCommand, fields: string[]): Change =>
    line === undefined ? { command, fields } : { command, fields, line };
  // The state after the last change that does not depend on the state before it.
  let from = -1;
  for (let i = changes.length - 1; i >= 0; i--) {
    if ((changes[i] as Change).command !== "merge") {
      from = i;
      break;
    }
  }
  if (from < 0) {
    // All merges: one merge of their overlay.
    let fields = first.fields;
    for (let i = 1; i < changes.length; i++) fields = overlay(fields, (changes[i] as Change).fields);
    return make("merge", fields);
  }
  let state: string[] | undefined;
  for (let i = from; i < changes.length; i++) state = applyChange(state, changes[i] as Change);
  if (first.command === "insert") {
    return state === undefined ? undefined : make("insert", state);
  }
  // Ending absent means the last change is a delete.
  if (state === undefined) return make("delete", [...last.fields]);
  return make("update", state);
}

/**
 * Collapses a stream of changes sorted by key (stably: file order within a key) into the net
 * effect per key, in key order. For associations an update or merge becomes an insert; for
 * entities a delete keeps only the key (the other fields become "").
 */
export async function* collapseSorted(
  input: AsyncIterable<Change[]>,
  keyColumns: KeyColumns,
): AsyncGenerator<Change[]> {
  const two = keyColumns === 2;
  let out: Change[] = [];
  let group: Change[] = [];
  const flush = (): void => {
    const change = collapseChanges(group);
    group = [];
    if (change === undefined) return;
    if (two) {
      if (change.command === "update" || change.command === "merge") change.command = "insert";
    } else if (change.command === "delete") {
      change.fields.fill("", 1);
    }
    out.push(change);
  };
  for await (const batch of input) {
    for (let i = 0; i < batch.length; i++) {
      const change = batch[i] as Change;
      const head = group[0];
      if (
        head !== undefined &&
        (head.fields[0] !== change.fields[0] || (two && head.fields[1] !== change.fields[1]))
      ) {
        flush();
      }
      group.push(change);
    }
    if (out.length >= JOIN_BATCH_ROWS) {
      yield out;
      out = [];
    }
  }
  if (group.length > 0) flush();
  if (out.length > 0) yield out;
}
