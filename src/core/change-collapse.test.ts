import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyDelta } from "./apply-delta.js";
import { applyChange, collapseChanges, collapseSorted, parseCommand } from "./change-collapse.js";
import { compareKeys } from "./rows.js";
import type { Change, DeltaCommand, KeyColumns } from "./rows.js";

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

describe("parseCommand", () => {
  it("reads commands in any case, add meaning insert", () => {
    expect(parseCommand("insert")).toBe("insert");
    expect(parseCommand("ADD")).toBe("insert");
    expect(parseCommand("Update")).toBe("update");
    expect(parseCommand("delete")).toBe("delete");
    expect(parseCommand("MeRgE")).toBe("merge");
    expect(parseCommand(" merge ")).toBe("merge");
    expect(parseCommand("")).toBeUndefined();
    expect(parseCommand("remove")).toBeUndefined();
    expect(parseCommand("toString")).toBeUndefined();
  });
});

describe("collapseChanges", () => {
  it("drops an object created and deleted within the batch", () => {
    expect(
      collapseChanges([change("insert", "k", "a"), change("update", "k", "b"), change("delete", "k", "")]),
    ).toBe(undefined);
  });

  it("inserts the final row of an object created within the batch", () => {
    expect(
      collapseChanges([
        change("insert", "k", "a", "b"),
        change("merge", "k", "", "c"),
        change("update", "k", "d", ""),
      ]),
    ).toEqual(change("insert", "k", "d", ""));
    expect(collapseChanges([change("insert", "k", "a", "b"), change("merge", "k", "", "c")])).toEqual(
      change("insert", "k", "a", "c"),
    );
    expect(
      collapseChanges([change("insert", "k", "a"), change("delete", "k", ""), change("merge", "k", "m")]),
    ).toEqual(change("insert", "k", "m"));
  });

  it("deletes an existing object that ends deleted", () => {
    expect(collapseChanges([change("update", "k", "a"), change("delete", "k", "a")])).toEqual(
      change("delete", "k", "a"),
    );
    expect(collapseChanges([change("merge", "k", "a"), change("delete", "k", "")])).toEqual(
      change("delete", "k", ""),
    );
  });

  it("replaces an object deleted and created again", () => {
    expect(
      collapseChanges([
        change("delete", "k", "", ""),
        change("insert", "k", "a", "b"),
        change("merge", "k", "", "c"),
      ]),
    ).toEqual(change("update", "k", "a", "c"));
    expect(collapseChanges([change("delete", "k", ""), change("merge", "k", "m")])).toEqual(
      change("update", "k", "m"),
    );
  });

  it("overlays merges into one merge", () => {
    expect(
      collapseChanges([
        change("merge", "k", "a", "", ""),
        change("merge", "k", "", "b", ""),
        change("merge", "k", "c", "", ""),
      ]),
    ).toEqual(change("merge", "k", "c", "b", ""));
    expect(collapseChanges([change("merge", "k", "a")])).toEqual(change("merge", "k", "a"));
  });

  it("updates with the last update overlaid by the merges after it", () => {
    expect(
      collapseChanges([
        change("merge", "k", "m", "m"),
        change("update", "k", "a", "b"),
        change("merge", "k", "", "c"),
        change("update", "k", "d", ""),
        change("merge", "k", "", "e"),
      ]),
    ).toEqual(change("update", "k", "d", "e"));
    expect(collapseChanges([change("merge", "k", "m", "m"), change("update", "k", "a", "")])).toEqual(
      change("update", "k", "a", ""),
    );
  });

  it("keeps the line of the last change", () => {
    expect(
      collapseChanges([
        { command: "update", fields: ["k", "a"], line: 3 },
        { command: "update", fields: ["k", "b"], line: 9 },
      ]),
    ).toEqual({ command: "update", fields: ["k", "b"], line: 9 });
  });
});

describe("collapseSorted", () => {
  it("collapses each key's changes, in key order", async () => {
    const changes = [
      change("insert", "a", "1"),
      change("delete", "a", "1"),
      change("update", "b", "2"),
      change("delete", "b", "2"),
      change("merge", "c", "3"),
      change("merge", "c", ""),
    ];
    expect(await all(collapseSorted(batches(changes, 4), 1))).toEqual([
      change("delete", "b", ""),
      change("merge", "c", "3"),
    ]);
  });

  it("turns updates and merges of pairs into inserts", async () => {
    const changes = [change("update", "a", "x"), change("merge", "b", "y"), change("delete", "c", "z")];
    expect(await all(collapseSorted(batches(changes, 2), 2))).toEqual([
      change("insert", "a", "x"),
      change("insert", "b", "y"),
      change("delete", "c", "z"),
    ]);
  });
});

/** A random state and a well-formed list of changes to it, for entities or pairs. */
function scenario(keyColumns: KeyColumns): fc.Arbitrary<{ start: string[][]; changes: Change[] }> {
  const keys =
    keyColumns === 1
      ? [["a"], ["b"], ["ab"], ["\uffff"], ["😀"]]
      : [
          ["a", "x"],
          ["a", "😀"],
          ["a", "\uffff"],
          ["b", "x"],
          ["ab", "x"],
          ["😀", "a"],
        ];
  const value = fc.constantFrom("", "", "x", "y", "z");
  const rowFor = (k: string[]): fc.Arbitrary<string[]> =>
    keyColumns === 1 ? fc.tuple(value, value).map(([v, w]) => [...k, v, w]) : fc.constant([...k]);
  const start = fc
    .subarray(keys)
    .chain((present) =>
      present.length === 0
        ? fc.constant([] as string[][])
        : fc.tuple(...present.map(rowFor)).map((rows) => [...rows]),
    );
  const steps = fc.array(fc.tuple(fc.nat(keys.length - 1), fc.nat(3), rowFor([])), { maxLength: 30 });
  return fc.tuple(start, steps).map(([rows, picks]) => {
    const live = new Map(rows.map((row) => [id(row, keyColumns), row]));
    const changes: Change[] = [];
    for (const [which, pick, values] of picks) {
      const fields = [...(keys[which] as string[]), ...values];
      const k = id(fields, keyColumns);
      const allowed: DeltaCommand[] = live.has(k) ? ["update", "delete", "merge"] : ["insert", "merge"];
      const command = allowed[pick % allowed.length] as DeltaCommand;
      const next = applyChange(live.get(k), { command, fields });
      if (next === undefined) live.delete(k);
      else live.set(k, next);
      changes.push({ command, fields });
    }
    return { start: rows, changes };
  });
}

function id(fields: readonly string[], keyColumns: KeyColumns): string {
  return JSON.stringify(fields.slice(0, keyColumns));
}

describe("collapsed changes", () => {
  for (const keyColumns of [1, 2] as const) {
    it(`applied give the state the changes give one by one (keyColumns ${keyColumns})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          scenario(keyColumns),
          fc.integer({ min: 1, max: 5 }),
          async ({ start, changes }, size) => {
            // One by one, in file order.
            const expected = new Map(start.map((row) => [id(row, keyColumns), row]));
            for (const c of changes) {
              const k = id(c.fields, keyColumns);
              const next = applyChange(expected.get(k), c);
              if (next === undefined) expected.delete(k);
              else expected.set(k, next);
            }
            const want = [...expected.values()].sort((a, b) => compareKeys(a, b, keyColumns));
            const sortedStart = start.slice().sort((a, b) => compareKeys(a, b, keyColumns));
            // Sorted by key, stably (file order within a key), as sortRows does.
            const sortedChanges = changes.slice().sort((a, b) => compareKeys(a.fields, b.fields, keyColumns));
            // collapseChanges per key, then applyDelta.
            const collapsed: Change[] = [];
            let group: Change[] = [];
            const flush = (): void => {
              const net = collapseChanges(group);
              if (net !== undefined) collapsed.push(net);
              group = [];
            };
            for (const c of sortedChanges) {
              if (group.length > 0 && compareKeys((group[0] as Change).fields, c.fields, keyColumns) !== 0)
                flush();
              group.push(c);
            }
            flush();
            expect(new Set(collapsed.map((c) => id(c.fields, keyColumns))).size).toBe(collapsed.length);
            const viaCollapse = await all(
              applyDelta(batches(sortedStart, size), batches(collapsed, size), keyColumns),
            );
            expect(viaCollapse).toEqual(want);
            // The streaming version, with its association and deletion rules.
            const streamed = await all(collapseSorted(batches(sortedChanges, size), keyColumns));
            if (keyColumns === 2)
              expect(streamed.every((c) => c.command === "insert" || c.command === "delete")).toBe(true);
            expect(
              await all(applyDelta(batches(sortedStart, size), batches(streamed, 2), keyColumns)),
            ).toEqual(want);
            // Applying every change through applyDelta, several per key, agrees too.
            expect(
              await all(applyDelta(batches(sortedStart, size), batches(sortedChanges, size), keyColumns)),
            ).toEqual(want);
          },
        ),
        { numRuns: 500 },
      );
    });
  }
});
