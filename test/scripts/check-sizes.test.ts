/** `npm run check:sizes` (scripts/check-sizes.mjs), run on folders of made-up sources. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const script = resolve(import.meta.dirname, "..", "..", "scripts", "check-sizes.mjs");
const scratch = mkdtempSync(join(tmpdir(), "syncup-sizes-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let folders = 0;
/** A folder holding `files` (name → text); the script's answer on it. */
function check(files: Record<string, string>): { status: number | null; output: string } {
  const dir = join(scratch, String(folders++));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const run = spawnSync(process.execPath, [script, dir], { encoding: "utf8" });
  return { status: run.status, output: run.stdout + run.stderr };
}

/** Source text `n` lines long. */
const lines = (n: number, line = "const x = 1;") => `${Array.from({ length: n }, () => line).join("\n")}\n`;
/** A function of `kind` spanning `n` lines from its first line to its last. */
function fn(kind: "declaration" | "arrow" | "expression" | "method", n: number): string {
  const body = lines(n - 2, "  void 0;");
  switch (kind) {
    case "declaration":
      return `export function f() {\n${body}}\n`;
    case "arrow":
      return `export const f = () => {\n${body}};\n`;
    case "expression":
      return `export const f = function () {\n${body}};\n`;
    case "method":
      return `export class C {\n  m() {\n${body}  }\n}\n`;
  }
}

describe("check-sizes", () => {
  it.each(["declaration", "arrow", "expression", "method"] as const)(
    "allows a %s of 100 lines and refuses one of 101, naming file, line and function",
    (kind) => {
      expect(check({ "a.ts": fn(kind, 100) }).status).toBe(0);
      const refused = check({ "a.ts": fn(kind, 101) });
      expect(refused.status).toBe(1);
      const name = kind === "method" ? "m" : "f";
      expect(refused.output).toContain(`a.ts:${kind === "method" ? 2 : 1}: function ${name}: 101 lines`);
    },
  );

  it("refuses a file over 400 lines unless its opening comment starts a line with Long file:", () => {
    expect(check({ "a.ts": lines(400) }).status).toBe(0);
    const refused = check({ "a.ts": lines(401) });
    expect(refused.status).toBe(1);
    expect(refused.output).toMatch(/a\.ts: 401 lines/);
    expect(check({ "a.ts": `// Long file: one table of cases.\n${lines(401)}` }).status).toBe(0);
    expect(
      check({ "a.ts": `/**\n * Parser.\n *\n * Long file: one state machine.\n */\n${lines(401)}` }).status,
    ).toBe(0);
    // A comment further down is not the opening comment, and a reason must follow.
    expect(check({ "a.ts": `${lines(401)}// Long file: too late.\n` }).status).toBe(1);
    expect(check({ "a.ts": `// Long file:\n${lines(401)}` }).status).toBe(1);
  });

  it("holds test files to the file rule only, and leaves bench/ of src aside", () => {
    expect(check({ "a.test.ts": `describe("x", () => {\n${lines(300)}});\n` }).status).toBe(0);
    expect(check({ "a.test.ts": lines(401) }).status).toBe(1);
    const bench = check({ "src/bench/a.ts": lines(900), "src/b.ts": lines(10) });
    expect(bench.status, bench.output).toBe(0);
  });
});
