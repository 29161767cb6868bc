/**
 * An association read from an entity file (a manager column in the people file) is owned by
 * that file's entity: each row of the file gives the owner's pairs. In an export of changes,
 * a row changes its owner's pairs as it changes the owner: insert and update make them the
 * row's pair (none when its column is empty), delete removes them all, and merge replaces
 * them only when its column is non-empty. Applied to the accepted pairs, the changes give the
 * pairs a complete export of the same file would give; their difference is the association's
 * delta.
 */
import { compareOrdinal } from "./ordinal.js";
import { BatchCursor, JOIN_BATCH_ROWS, type Change } from "./rows.js";

/**
 * The owner's pairs after its net change (`fields`: owner, other end), given its pairs before.
 */
export function ownedPairs(change: Change, before: readonly string[][]): string[][] {
  const [owner = "", other = ""] = change.fields;
  if (change.command === "delete") return [];
  if (other === "") return change.command === "merge" ? [...before] : [];
  return [[owner, other]];
}

/**
 * Applies owner-level changes (one net change per owner, in owner order; rows `[owner,
 * other]`) to pairs `[owner, other]` sorted by owner then other: the pairs after, in the same
 * order, in batches.
 */
export async function* applyOwnedChanges(
  previous: AsyncIterable<string[][]>,
  changes: AsyncIterable<Change[]>,
): AsyncGenerator<string[][]> {
  const pairs = new BatchCursor(previous);
  const owners = new BatchCursor(changes);
  try {
    let out: string[][] = [];
    let hasPair = await pairs.fill();
    let hasChange = await owners.fill();
    while (hasPair || hasChange) {
      const c = !hasPair
        ? 1
        : !hasChange
          ? -1
          : compareOrdinal(pairs.peek()[0] ?? "", owners.peek().fields[0] ?? "");
      if (c < 0) {
        out.push(pairs.take());
        hasPair = pairs.ready || (await pairs.fill());
      } else {
        const change = owners.take();
        const owner = change.fields[0] ?? "";
        const before: string[][] = [];
        while (hasPair && pairs.peek()[0] === owner) {
          before.push(pairs.take());
          hasPair = pairs.ready || (await pairs.fill());
        }
        out.push(...ownedPairs(change, before));
        hasChange = owners.ready || (await owners.fill());
      }
      if (out.length >= JOIN_BATCH_ROWS) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    await Promise.all([pairs.close(), owners.close()]);
  }
}
