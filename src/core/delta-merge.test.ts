import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SyncupError } from "../errors.js";
import { applyDelta } from "./apply-delta.js";
import type { DeltaRow } from "./delta-merge.js";
import { mergeDelta } from "./delta-merge.js";
import { compareKeys } from "./rows.js";
import type { Change, KeyColumns } from "./rows.js";

const unit = fc.oneof(
  { arbitrary: fc.constantFrom("a", "b", "c", ""), weight: 6 },
  { arbitrary: fc.constantFrom("\ue000", "\uffff", "😀", "\ud800", "é"), weight: 2 },
);
const key = fc.string({ unit, minLength: 1, maxLength: 3 });
const value = fc.constantFrom("", "x", "y", "z");

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

/** A sorted, unique state from rows (the last row of a key wins). */
function state(rows: string[][], keyColumns: KeyColumns): string[][] {
  const byKey = new Map<string, string[]>();
  for (const row of rows) byKey.set(JSON.stringify(row.slice(0, keyColumns)), row);
  return [...byKey.values()].sort((a, b) => compareKeys(a, b, keyColumns));
}

const entityState = fc
  .array(
    fc.tuple(key, value, value).map((r) => [...r]),
    { maxLength: 40 },
  )
  .map((rows) => state(rows, 1));
const pairState = fc
  .array(
    fc.tuple(key, key).map((r) => [...r]),
    { maxLength: 40 },
  )
  .map((rows) => state(rows, 2));

function asChanges(delta: DeltaRow[]): Change[] {
  return delta.map((row) => ({ command: row.command, fields: row.fields }));
}

describe("mergeDelta", () => {
  for (const [name, keyColumns, arbitrary] of [
    ["entities", 1, entityState],
    ["associations", 2, pairState],
  ] as const) {
    it(`gives changes that turn previous into next (${name})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          arbitrary,
          arbitrary,
          fc.integer({ min: 1, max: 7 }),
          async (previous, next, size) => {
            const delta = await all(mergeDelta(batches(previous, size), batches(next, size + 1), keyColumns));
            // In key order, one change per key, and only where something changed.
            for (let i = 1; i < delta.length; i++) {
              const a = (delta[i - 1] as DeltaRow).fields;
              const b = (delta[i] as DeltaRow).fields;
              expect(compareKeys(a, b, keyColumns)).toBeLessThan(0);
            }
            if (keyColumns === 2) expect(delta.every((d) => d.command !== "update")).toBe(true);
            const applied = await all(
              applyDelta(batches(previous, size), batches(asChanges(delta), 3), keyColumns),
            );
            expect(applied).toEqual(next);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it("inserts, updates and deletes, a deletion keeping only the key", async () => {
    const previous = [
      ["a", "1", "x"],
      ["b", "2", "y"],
      ["c", "3", "z"],
    ];
    const next = [
      ["a", "1", "x"],
      ["b", "2", "Y"],
      ["d", "4", "w"],
    ];
    expect(await all(mergeDelta(batches(previous, 2), batches(next, 1), 1))).toEqual([
      { command: "update", fields: ["b", "2", "Y"] },
      { command: "delete", fields: ["c", "", ""] },
      { command: "insert", fields: ["d", "4", "w"] },
    ]);
  });

  it("compares pairs column by column in code point order", async () => {
    const previous = [
      ["a", "\uffff"],
      ["a", "😀"],
      ["ab", "a"],
    ];
    const next = [
      ["a", "😀"],
      ["ab", "b"],
    ];
    expect(await all(mergeDelta(batches(previous, 5), batches(next, 5), 2))).toEqual([
      { command: "delete", fields: ["a", "\uffff"] },
      { command: "delete", fields: ["ab", "a"] },
      { command: "insert", fields: ["ab", "b"] },
    ]);
  });

  it("says which input is out of order or has a key twice", async () => {
    const sorted = [["a"], ["b"]];
    const unsorted = [["b"], ["a"]];
    const twice = [["a"], ["a"]];
    await expect(all(mergeDelta(batches(unsorted, 1), batches(sorted, 1), 1))).rejects.toMatchObject({
      code: "PREVIOUS_INVALID",
      message: expect.stringMatching(/previous state is not sorted/) as unknown,
    });
    await expect(all(mergeDelta(batches(twice, 1), batches(sorted, 1), 1))).rejects.toMatchObject({
      code: "PREVIOUS_INVALID",
      message: expect.stringMatching(/twice/) as unknown,
    });
    await expect(all(mergeDelta(batches(sorted, 1), batches(unsorted, 1), 1))).rejects.toMatchObject({
      code: "INTERNAL",
      message: expect.stringMatching(/new state is not sorted/) as unknown,
    });
    await expect(all(mergeDelta(batches(sorted, 1), batches(unsorted, 1), 1))).rejects.toBeInstanceOf(
      SyncupError,
    );
  });

  it("uses code point order, not UTF-16 code unit order", async () => {
    // U+FFFF sorts before U+1F600 by code point, after it by code unit.
    const ordered = [["\uffff"], ["😀"]];
    expect(await all(mergeDelta(batches(ordered, 1), batches([], 1), 1))).toHaveLength(2);
    await expect(all(mergeDelta(batches([["😀"], ["\uffff"]], 1), batches([], 1), 1))).rejects.toMatchObject({
      code: "PREVIOUS_INVALID",
    });
  });
});
