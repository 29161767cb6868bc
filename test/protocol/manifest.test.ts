/**
 * The one reader of `prepare.json` (`parsePrepareManifest`): a manifest a real prepare wrote is
 * answered as is, and each way a manifest can be wrong is refused with a message naming where.
 */
import { describe, expect, it } from "vitest";
import type { PrepareManifest as LayoutManifest } from "../../src/prepare/layout.js";
import {
  ManifestInvalidError,
  parsePrepareManifest,
  parsePrepareManifestJson,
  type PrepareManifest,
} from "../../src/protocol/manifest.js";

const SHA = "a".repeat(64);

const valid = {
  connector: "HR",
  mode: "incremental",
  preparedAt: "2026-11-26T05:00:00.000Z",
  deltaSource: "previous",
  baseBatch: "0b7f9a3e-6d1c-4f0e-9a57-3c2b1d0e8f6a",
  files: [
    { mapping: "Person", kind: "sorted", file: "Person.sorted.csv", rows: 300, bytes: 12000, sha256: SHA },
    { mapping: "Person", kind: "delta", file: "Person.sorted.delta", rows: 2, bytes: 80, sha256: SHA },
    { mapping: "Person", kind: "nullpk", file: "Person.nullpk.csv", rows: 0, bytes: 20, sha256: SHA },
  ],
  summaries: [
    {
      mapping: "Person",
      kind: "entity",
      source: "hr_people.csv",
      rowsRead: 300,
      kept: 300,
      nullKeys: 0,
      duplicates: 0,
      inserts: 0,
      updates: 2,
      deletes: 0,
      merges: 0,
    },
  ],
} as const;

/** `valid` with one change at a path; `undefined` removes the property. */
function changed(path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(valid) as unknown as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

function problemsOf(value: unknown): string {
  try {
    parsePrepareManifest(value, "prepare.json of batch B");
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestInvalidError);
    expect((error as Error).message).toMatch(/^"prepare\.json of batch B" is not a prepare manifest: /);
    return (error as ManifestInvalidError).problems.join("; ");
  }
  throw new Error("accepted");
}

describe("parsePrepareManifest", () => {
  it("answers a valid manifest with its content, typed as the layout's manifest", () => {
    const parsed: PrepareManifest = parsePrepareManifest(valid, "prepare.json");
    expect(parsed).toEqual(valid);
    // The contract's type and the prepare's are interchangeable.
    const asLayout: LayoutManifest = parsed;
    const back: PrepareManifest = asLayout;
    expect(back.files).toHaveLength(3);
    expect(parsePrepareManifest({ ...valid, mode: "complete", baseBatch: null }, "x").baseBatch).toBeNull();
  });

  it("drops properties it does not know (a newer agent's), keeping the rest", () => {
    const parsed = parsePrepareManifest({ ...valid, producedBy: "syncup 9" }, "prepare.json");
    expect(parsed).toEqual(valid);
  });

  const refused: [string, unknown, string][] = [
    ["null", null, "the manifest: expected an object, found null"],
    ["an array", [], "the manifest: expected an object, found an array"],
    ["a string", "prepare", 'the manifest: expected an object, found "prepare"'],
    ["no files", changed(["files"], undefined), "files: missing"],
    ["files not an array", changed(["files"], "x"), 'files: expected an array, found "x"'],
    ["a null file", changed(["files", 1], null), "files[1]: expected an object, found null"],
    ["no connector", changed(["connector"], undefined), "connector: missing"],
    ["an empty connector", changed(["connector"], ""), 'connector: expected a non-empty string, found ""'],
    [
      "an unknown mode",
      changed(["mode"], "full"),
      'mode: expected one of "initial", "complete", "incremental", found "full"',
    ],
    [
      "an unknown kind",
      changed(["files", 0, "kind"], "csv"),
      'files[0].kind: expected one of "sorted", "delta", "nullpk", "duplicates", found "csv"',
    ],
    [
      "a file in a folder",
      changed(["files", 0, "file"], "../Person.sorted.csv"),
      'files[0].file: expected a file name without a folder, found "../Person.sorted.csv"',
    ],
    [
      "a Windows path",
      changed(["files", 0, "file"], "..\\x.csv"),
      "files[0].file: expected a file name without a folder",
    ],
    [
      "the parent folder",
      changed(["files", 0, "file"], ".."),
      'files[0].file: expected a file name without a folder, found ".."',
    ],
    [
      "a NUL in a name",
      changed(["files", 0, "file"], "a\u0000.csv"),
      "files[0].file: expected a file name without a folder",
    ],
    [
      "a short SHA-256",
      changed(["files", 2, "sha256"], "abc"),
      'files[2].sha256: expected 64 lowercase hex digits, found "abc"',
    ],
    [
      "an uppercase SHA-256",
      changed(["files", 2, "sha256"], "A".repeat(64)),
      "files[2].sha256: expected 64 lowercase hex digits",
    ],
    ["negative rows", changed(["files", 0, "rows"], -1), "files[0].rows: expected a number >= 0, found -1"],
    [
      "fractional bytes",
      changed(["files", 0, "bytes"], 1.5),
      "files[0].bytes: expected an integer, found 1.5",
    ],
    [
      "rows as a string",
      changed(["files", 0, "rows"], "300"),
      'files[0].rows: expected a number, found "300"',
    ],
    ["a base batch of the wrong type", changed(["baseBatch"], 7), "baseBatch: expected a string, found 7"],
    ["no summaries", changed(["summaries"], undefined), "summaries: missing"],
    ["a summary of no kind", changed(["summaries", 0, "kind"], undefined), "summaries[0].kind: missing"],
  ];
  it.each(refused)("refuses %s, naming where", (_what, value, problem) => {
    expect(problemsOf(value)).toContain(problem);
  });

  it("lists every problem, not only the first", () => {
    const problems = problemsOf({ files: [null] });
    for (const path of [
      "connector",
      "mode",
      "preparedAt",
      "deltaSource",
      "baseBatch",
      "files[0]",
      "summaries",
    ]) {
      expect(problems).toContain(`${path}: `);
    }
  });

  it("lists at most ten problems in its message, and counts the others", () => {
    const files = Array.from({ length: 25 }, () => null);
    try {
      parsePrepareManifest({ ...valid, files }, "prepare.json");
      throw new Error("accepted");
    } catch (error) {
      expect((error as ManifestInvalidError).problems).toHaveLength(25);
      expect((error as Error).message).toContain("files[9]: expected an object");
      expect((error as Error).message).not.toContain("files[10]");
      expect((error as Error).message).toMatch(/; and 15 more\.$/);
    }
  });

  it("cuts a long refused value short", () => {
    const problems = problemsOf(changed(["files", 0, "sha256"], "z".repeat(10_000)));
    expect(problems.length).toBeLessThan(200);
    expect(problems).toContain("…");
  });
});

describe("parsePrepareManifestJson", () => {
  it("reads the text of a manifest", () => {
    expect(parsePrepareManifestJson(JSON.stringify(valid), "prepare.json")).toEqual(valid);
  });

  it("refuses text that is not JSON, saying so", () => {
    expect(() => parsePrepareManifestJson("{files:", "prepare.json")).toThrow(
      /^"prepare\.json" is not a prepare manifest: not JSON \(/,
    );
    expect(() => parsePrepareManifestJson("null", "prepare.json")).toThrow(
      "the manifest: expected an object, found null",
    );
  });
});
