import { describe, expect, it } from "vitest";
import { applyOwnedChanges, ownedPairs } from "./owned-links.js";
import type { Change } from "./rows.js";

/** One item a batch, as a file read a row at a time would give them. */
async function* batches<T>(items: T[]): AsyncGenerator<T[]> {
  for (const item of items) yield await Promise.resolve([item]);
}

async function collect(source: AsyncIterable<string[][]>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const batch of source) out.push(...batch);
  return out;
}

describe("ownedPairs", () => {
  const before = [
    ["p", "m1"],
    ["p", "m2"],
  ];
  it.each<[Change["command"], string, string[][]]>([
    ["insert", "m3", [["p", "m3"]]],
    ["update", "m3", [["p", "m3"]]],
    ["update", "", []],
    ["delete", "", []],
    ["delete", "m3", []],
    ["merge", "m3", [["p", "m3"]]],
    ["merge", "", before],
  ])("%s with %j", (command, other, expected) => {
    expect(ownedPairs({ command, fields: ["p", other] }, before)).toEqual(expected);
  });
});

describe("applyOwnedChanges", () => {
  it("replaces the pairs of the owners that changed, keeps the others, in order", async () => {
    const previous = [
      ["a", "x"],
      ["b", "x"],
      ["b", "y"],
      ["d", "x"],
    ];
    const changes: Change[] = [
      { command: "update", fields: ["b", "z"] },
      { command: "insert", fields: ["c", "x"] },
      { command: "delete", fields: ["d", ""] },
      { command: "merge", fields: ["e", ""] },
    ];
    expect(await collect(applyOwnedChanges(batches(previous), batches(changes)))).toEqual([
      ["a", "x"],
      ["b", "z"],
      ["c", "x"],
    ]);
  });
});
