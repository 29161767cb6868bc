import { describe, expect, it } from "vitest";
import { diffValues, nextWatermark, objectChanges, rowHash } from "./incremental.js";

describe("incremental rules", () => {
  const record = (row: string[], members: string[] = []) => ({ hash: rowHash(row), links: { members } });

  it("gives insert to a new object, update to a changed row, nothing to an unchanged one", () => {
    expect(objectChanges(undefined, record(["a"]), ["members"]).command).toBe("insert");
    expect(objectChanges(record(["a"]), record(["b"]), ["members"]).command).toBe("update");
    expect(objectChanges(record(["a"]), record(["a"]), ["members"]).command).toBeUndefined();
  });

  it("lists the link values that vanished and those that appeared", () => {
    const changes = objectChanges(record(["a"], ["x", "y"]), record(["a"], ["y", "z"]), ["members"]);
    expect(changes.links["members"]).toEqual({ removed: ["x"], added: ["z"] });
    expect(objectChanges(undefined, record(["a"], ["x"]), ["members"]).links["members"]).toEqual({
      removed: [],
      added: ["x"],
    });
    expect(diffValues(["a", "a", "b"], ["b", "b"])).toEqual({ removed: ["a"], added: [] });
  });

  it("hashes rows so that no two field lists collide by concatenation", () => {
    expect(rowHash(["ab", "c"])).not.toBe(rowHash(["a", "bc"]));
    expect(rowHash(["a"])).toBe(rowHash(["a"]));
  });

  it("advances the watermark to the newest change, but never closer than the overlap to the export's start", () => {
    const format = (ms: number) => `t${ms}`;
    const base = { startedMs: 10_000, overlapMs: 1000, format };
    expect(nextWatermark({ ...base, previous: "old", newest: { raw: "r5000", ms: 5000 } })).toBe("r5000");
    expect(nextWatermark({ ...base, previous: "old", newest: { raw: "r9500", ms: 9500 } })).toBe("t9000");
    expect(nextWatermark({ ...base, previous: "old", newest: undefined })).toBe("old");
    expect(nextWatermark({ ...base, previous: undefined, newest: undefined })).toBeUndefined();
  });
});
