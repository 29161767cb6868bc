import { Buffer } from "node:buffer";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compareKeys } from "../core/rows.js";
import type { KeyColumns } from "../core/rows.js";
import { SyncupError } from "../errors.js";
import type { ExternalSortOptions, SortedBatch } from "./external-sort.js";
import { sortRows, sortRowsInto } from "./external-sort.js";
import { LARGE_ROW_CHARS } from "./large-rows.js";
import { OUTPUT_BATCH_CHARS } from "./merge.js";

/** Code units worth sorting: a small alphabet (for equal keys), Latin-1, the BMP above it,
 * U+E000–U+FFFF, astral characters (surrogate pairs) and lone surrogates. */
const unit = fc.oneof(
  { arbitrary: fc.constantFrom("a", "b", "c", "A", "0", ";", ",", '"', "\n", "\u0000", "é", "ÿ"), weight: 8 },
  { arbitrary: fc.integer({ min: 0x100, max: 0xd7ff }).map((c) => String.fromCharCode(c)), weight: 1 },
  { arbitrary: fc.integer({ min: 0xe000, max: 0xffff }).map((c) => String.fromCharCode(c)), weight: 2 },
  { arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)), weight: 2 },
  { arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), weight: 1 },
);
const key = fc.string({ unit, maxLength: 3 });
const field = fc.string({ unit, maxLength: 6 });

/** The reference: a stable sort by key, then (when unique) the first row of a key kept. */
function reference(rows: string[][], keyColumns: KeyColumns, unique: boolean): SortedBatch {
  const sorted = rows.slice().sort((a, b) => compareKeys(a, b, keyColumns));
  if (!unique) return { rows: sorted, duplicates: [] };
  const kept: string[][] = [];
  const duplicates: string[][] = [];
  sorted.forEach((row, i) => {
    const before = sorted[i - 1];
    if (before !== undefined && compareKeys(before, row, keyColumns) === 0) duplicates.push(row);
    else kept.push(row);
  });
  return { rows: kept, duplicates };
}

async function* batches(rows: string[][], sizes: number[]): AsyncGenerator<string[][]> {
  let at = 0;
  let i = 0;
  while (at < rows.length) {
    const size = sizes.length === 0 ? rows.length : (sizes[i++ % sizes.length] as number);
    await Promise.resolve();
    yield rows.slice(at, at + size);
    at += size;
  }
}

/** The rows of `sortRows`, checked against `sortRowsInto` of the same batches. */
async function collect(input: AsyncIterable<string[][]>, options: ExternalSortOptions): Promise<SortedBatch> {
  const seen: string[][][] = [];
  async function* recorded(): AsyncGenerator<string[][]> {
    for await (const batch of input) {
      seen.push(batch);
      yield batch;
    }
  }
  const rows: string[][] = [];
  const duplicates: string[][] = [];
  for await (const batch of sortRows(recorded(), options)) {
    rows.push(...batch.rows);
    duplicates.push(...batch.duplicates);
  }
  expect(
    await collectInto(
      batches(
        seen.flat(),
        seen.map((b) => b.length),
      ),
      options,
    ),
  ).toEqual({
    rows,
    duplicates,
  });
  return { rows, duplicates };
}

/** The rows `sortRowsInto` hands to its sink, as strings. */
async function collectInto(
  input: AsyncIterable<string[][]>,
  options: ExternalSortOptions,
): Promise<SortedBatch> {
  const sorted: SortedBatch = { rows: [], duplicates: [] };
  await sortRowsInto(input, options, {
    units(units, start, lengths, at, width, duplicate) {
      const row: string[] = [];
      for (let k = at, from = start; k < at + width; k++) {
        const end = from + (lengths[k] as number);
        row.push(
          Buffer.from(units.buffer, units.byteOffset + from * 2, (end - from) * 2).toString("utf16le"),
        );
        from = end;
      }
      (duplicate ? sorted.duplicates : sorted.rows).push(row);
      return duplicate ? undefined : Promise.resolve();
    },
    fields(row, duplicate) {
      (duplicate ? sorted.duplicates : sorted.rows).push(row);
    },
  });
  return sorted;
}

/** Rows with an index in the last field, so that stability is visible. */
function tagged(rows: string[][]): string[][] {
  return rows.map((row, i) => [...row, String(i)]);
}

describe("sortRows", () => {
  let parent: string;
  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), "syncup-sort-test-"));
  });
  afterEach(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  const cases: { name: string; keyColumns: KeyColumns; unique: boolean }[] = [
    { name: "entities, unique", keyColumns: 1, unique: true },
    { name: "entities, all rows", keyColumns: 1, unique: false },
    { name: "associations, unique", keyColumns: 2, unique: true },
    { name: "associations, all rows", keyColumns: 2, unique: false },
  ];
  for (const { name, keyColumns, unique } of cases) {
    it(`equals a stable reference sort (${name}), in memory and with many runs`, async () => {
      const row =
        keyColumns === 1
          ? fc.tuple(key, field, field).map((r) => [...r])
          : fc.tuple(key, key).map((r) => [...r]);
      await fc.assert(
        fc.asyncProperty(
          fc.array(row, { maxLength: 300 }),
          fc.oneof(fc.constant(64 * 1024 * 1024), fc.integer({ min: 1, max: 3000 })),
          fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 5 }),
          async (plain, budget, sizes) => {
            const rows = tagged(plain);
            const options = { keyColumns, unique, memoryBudgetBytes: budget, tempDir: parent };
            const sorted = await collect(
              batches(
                rows,
                sizes.filter((s) => s > 0),
              ),
              options,
            );
            expect(sorted).toEqual(reference(rows, keyColumns, unique));
            expect(await readdir(parent)).toEqual([]);
          },
        ),
        { numRuns: 120 },
      );
    });
  }

  it("sorts rows of different widths, long fields and every kind of character", async () => {
    const rows: string[][] = [];
    const chars = [
      "a",
      "\u0000",
      "\u001e",
      "\u001f",
      "ÿ",
      "\u0100",
      "\ud7ff",
      "\ue000",
      "\uffff",
      "😀",
      "\ud800",
    ];
    for (let i = 0; i < 2000; i++) {
      const width = 1 + (i % 5);
      const row: string[] = [];
      for (let k = 0; k < width; k++) {
        let text = "";
        const length = (i * 7 + k * 13) % (k === 2 ? 200 : 5);
        for (let c = 0; c < length; c++) text += chars[(i * 31 + c * 17 + k) % chars.length] as string;
        row.push(text);
      }
      rows.push(row);
    }
    const tagged2 = rows.map((row, i) => [...row, String(i)]);
    for (const budget of [500, 20_000, 64 * 1024 * 1024]) {
      const sorted = await collect(batches(tagged2, [97]), {
        keyColumns: 1,
        unique: true,
        memoryBudgetBytes: budget,
        tempDir: parent,
      });
      expect(sorted).toEqual(reference(tagged2, 1, true));
    }
    expect(await readdir(parent)).toEqual([]);
  });

  it("orders code units near the top of the range by code point, in large groups", async () => {
    // Low surrogates U+DFFD–U+DFFF sort above U+FFFF (their values exceed 16 bits in the sort).
    const chars = [
      "\u{10FFFF}",
      "\u{103FF}",
      "\u{103FE}",
      "\u{103FD}",
      "\udfff",
      "\udffe",
      "\ue000",
      "\uffff",
      "a",
      "\u0100",
    ];
    const rows: string[][] = [];
    for (let i = 0; i < 6000; i++) {
      let text = "";
      for (let c = 0, n = 1 + (i % 4); c < n; c++)
        text += chars[(i * 7 + c * 3 + (i >> 4)) % chars.length] as string;
      rows.push([text, String(i)]);
    }
    // A small group too (insertion sort): the values differ only above 16 bits.
    const few = ["\u{103FF}a", "\u{103FE}b", "\u{103FD}c", "\udfffa", "\udffeb", "\udffdc", "\u{10FFFF}"];
    const small = few.map((key, i) => [key, String(i)]);
    expect(await collect(batches(small, []), { keyColumns: 1, unique: true, tempDir: parent })).toEqual(
      reference(small, 1, true),
    );
    for (const budget of [20_000, 64 * 1024 * 1024]) {
      for (const keyColumns of [1, 2] as const) {
        const sorted = await collect(batches(rows, [700]), {
          keyColumns,
          unique: false,
          memoryBudgetBytes: budget,
          tempDir: parent,
        });
        expect(sorted).toEqual(reference(rows, keyColumns, false));
      }
    }
  });

  it("merges in several passes when there are more runs than one merge reads", async () => {
    const rows: string[][] = [];
    for (let i = 0; i < 3000; i++) rows.push([`k${(i * 7919) % 1000}`, `v${i}`]);
    // About 4 rows per run: some 750 runs, merged 64 at a time, then again.
    const sorted = await collect(batches(rows, [100]), {
      keyColumns: 1,
      unique: true,
      memoryBudgetBytes: 4 * 90,
      tempDir: parent,
    });
    expect(sorted).toEqual(reference(rows, 1, true));
    expect(sorted.rows).toHaveLength(1000);
    expect(await readdir(parent)).toEqual([]);
  });

  for (const unique of [false, true]) {
    it(`sorts a larger input with a small budget like the in-memory sort (unique: ${unique})`, async () => {
      const rows: string[][] = [];
      for (let i = 0; i < 50_000; i++) {
        // Many keys twice or more, across chunks and runs.
        const id = (i * 48271) % 30_011;
        rows.push([`CN=U${String(id).padStart(7, "0")},OU=Users`, `U${id}`, "Anna Müller 😀", `${i}`]);
      }
      const small = await collect(batches(rows, [1000]), {
        keyColumns: 1,
        unique,
        memoryBudgetBytes: 256 * 1024,
        tempDir: parent,
      });
      const memory = await collect(batches(rows, [1000]), { keyColumns: 1, unique, tempDir: parent });
      expect(small).toEqual(memory);
      expect(small).toEqual(reference(rows, 1, unique));
    });
  }

  for (const { name, keyColumns, unique } of cases) {
    it(`large rows (beyond ${LARGE_ROW_CHARS} characters) among small ones sort like the reference (${name})`, async () => {
      const rows: string[][] = [];
      for (let i = 0; i < 400; i++) {
        const k = `k${(i * 37) % 150}`;
        const size = i % 9 === 0 ? LARGE_ROW_CHARS + 1 + i * 101 : i % 5;
        const filler = (i % 2 === 0 ? "x" : "é€😀").repeat(size).slice(0, Math.max(size, 1));
        rows.push(keyColumns === 2 ? [k, `p${i % 3}`, filler] : [k, filler, "y"]);
      }
      const input = tagged(rows);
      const expected = reference(input, keyColumns, unique);
      for (const budget of [undefined, 300_000, 2_000_000]) {
        const sizes = [7, 1, 50];
        const got = await collect(batches(input, sizes), {
          keyColumns,
          unique,
          memoryBudgetBytes: budget,
          tempDir: parent,
        });
        // Compared as text: a diff of megabyte strings is unreadable.
        expect(got.rows.map((r) => r.join("|"))).toEqual(expected.rows.map((r) => r.join("|")));
        expect(got.duplicates.map((r) => r.join("|"))).toEqual(expected.duplicates.map((r) => r.join("|")));
        expect(await readdir(parent)).toEqual([]);
      }
    });
  }

  it("hands out at most about a megabyte of characters per batch, and one large row at a time", async () => {
    const rows: string[][] = [];
    for (let i = 0; i < 12; i++) rows.push([`k${i}`, "z".repeat(3 * LARGE_ROW_CHARS)]);
    for (let i = 0; i < 5000; i++) rows.push([`s${i}`, "v".repeat(500)]);
    for (const budget of [undefined, 400_000]) {
      const sizes: number[] = [];
      let total = 0;
      for await (const batch of sortRows(batches(rows, [100]), {
        keyColumns: 1,
        unique: true,
        memoryBudgetBytes: budget,
        tempDir: parent,
      })) {
        const chars = batch.rows.reduce((n, r) => n + r.join("").length, 0);
        sizes.push(chars);
        total += batch.rows.length;
      }
      expect(total).toBe(rows.length);
      expect(Math.max(...sizes)).toBeLessThan(OUTPUT_BATCH_CHARS + 3 * LARGE_ROW_CHARS + 10);
    }
  });

  it("writes no temporary files when everything fits in memory", async () => {
    const rows = [["b"], ["a"], ["c"]];
    const sorted = sortRows(batches(rows, []), { keyColumns: 1, unique: true, tempDir: parent });
    const first = await sorted.next();
    expect(await readdir(parent)).toEqual([]);
    expect(first.value).toEqual({ rows: [["a"], ["b"], ["c"]], duplicates: [] });
    expect((await sorted.next()).done).toBe(true);
  });

  it("removes its temporary folder when the consumer stops early", async () => {
    const rows: string[][] = [];
    for (let i = 0; i < 20_000; i++) rows.push([`key${(i * 7919) % 20_000}`, "x".repeat(20)]);
    const sorted = sortRows(batches(rows, [500]), {
      keyColumns: 1,
      unique: true,
      memoryBudgetBytes: 50_000,
      tempDir: parent,
    });
    for await (const batch of sorted) {
      expect(batch.rows.length).toBeGreaterThan(0);
      expect((await readdir(parent)).length).toBe(1);
      break;
    }
    expect(await readdir(parent)).toEqual([]);
  });

  it("removes its temporary folder when the input fails", async () => {
    async function* failing(): AsyncGenerator<string[][]> {
      for (let i = 0; i < 50; i++) {
        await Promise.resolve();
        yield [[`k${i}`, "x".repeat(100)]];
      }
      throw new Error("input broke");
    }
    const sorted = collect(failing(), {
      keyColumns: 1,
      unique: true,
      memoryBudgetBytes: 500,
      tempDir: parent,
    });
    await expect(sorted).rejects.toThrow("input broke");
    expect(await readdir(parent)).toEqual([]);
  });

  it("rejects rows without their key columns", async () => {
    const sorted = collect(batches([["a", "b"], ["c"]], []), {
      keyColumns: 2,
      unique: true,
      tempDir: parent,
    });
    await expect(sorted).rejects.toThrow(SyncupError);
  });

  it("handles an empty input", async () => {
    expect(await collect(batches([], []), { keyColumns: 1, unique: true, tempDir: parent })).toEqual({
      rows: [],
      duplicates: [],
    });
  });
});
