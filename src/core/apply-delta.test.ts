import { describe, expect, it } from "vitest";
import { applyDelta } from "./apply-delta.js";
import type { Change, DeltaCommand } from "./rows.js";

const change = (command: DeltaCommand, ...fields: string[]): Change => ({ command, fields });

async function* batches<T>(items: T[], size: number): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.resolve();
    yield items.slice(i, i + size);
  }
}

async function all<T>(source: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of source) out.push(...batch);
  return out;
}

describe("applyDelta", () => {
  const previous = [
    ["b", "1", "x"],
    ["d", "2", "y"],
    ["f", "3", "z"],
  ];

  it("inserts, replaces, deletes and merges", async () => {
    const delta = [
      change("insert", "a", "0", "w"),
      change("update", "b", "9", ""),
      change("delete", "c", "", ""),
      change("merge", "d", "", "Y"),
      change("merge", "e", "5", ""),
      change("delete", "f", "", ""),
      change("insert", "g", "7", "v"),
    ];
    expect(await all(applyDelta(batches(previous, 2), batches(delta, 3), 1))).toEqual([
      ["a", "0", "w"],
      ["b", "9", ""],
      ["d", "2", "Y"],
      ["e", "5", ""],
      ["g", "7", "v"],
    ]);
  });

  it("applies several changes of a key in order", async () => {
    const delta = [
      change("delete", "b", "", ""),
      change("insert", "b", "n", "m"),
      change("merge", "b", "", "q"),
    ];
    expect(await all(applyDelta(batches(previous, 1), batches(delta, 1), 1))).toEqual([
      ["b", "n", "q"],
      ["d", "2", "y"],
      ["f", "3", "z"],
    ]);
  });

  it("keeps the state when there are no changes, and takes all changes on an empty state", async () => {
    expect(await all(applyDelta(batches(previous, 2), batches([], 1), 1))).toEqual(previous);
    expect(await all(applyDelta(batches([], 1), batches([change("insert", "a", "1")], 1), 1))).toEqual([
      ["a", "1"],
    ]);
  });

  it("joins pairs on both columns", async () => {
    const pairs = [
      ["a", "x"],
      ["a", "y"],
    ];
    const delta = [change("delete", "a", "x"), change("insert", "a", "z"), change("insert", "b", "x")];
    expect(await all(applyDelta(batches(pairs, 1), batches(delta, 2), 2))).toEqual([
      ["a", "y"],
      ["a", "z"],
      ["b", "x"],
    ]);
  });

  it("rejects an unsorted previous state and unsorted changes", async () => {
    await expect(all(applyDelta(batches([["b"], ["a"]], 1), batches([], 1), 1))).rejects.toMatchObject({
      code: "PREVIOUS_INVALID",
    });
    const unsorted = [change("insert", "b"), change("insert", "a")];
    await expect(all(applyDelta(batches([], 1), batches(unsorted, 1), 1))).rejects.toMatchObject({
      code: "INTERNAL",
    });
  });
});
