/**
 * Configurations mutated at random from the examples and the test fixtures' configurations —
 * keys deleted, values of the wrong type, odd strings (NUL, line breaks, huge, lone surrogates),
 * odd numbers, aliases (cyclic ones too), bytes inserted into the text — are either loaded or
 * refused with a SyncupError and its code, never with another exception; and the real binary's
 * `config check` and `jobs list` exit 0 or 2 on them, without a stack trace. Fixed seed, bounded
 * runs: the same configurations on every run.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { isCollection, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";
import { loadConfig } from "../../src/config/load.js";
import { ERROR_CODES, SyncupError } from "../../src/errors.js";
import { bin, root } from "../cli/binary.js";

const SEED = 20261203;
const SOURCES = [
  "examples/quickstart/syncup.yaml",
  "examples/agent-server/syncup.yaml",
  "test/fixtures/ad-source-document/syncup.yaml",
  "test/fixtures/hr-latin1/syncup.yaml",
  "test/fixtures/incremental/syncup.yaml",
].map((path) => readFileSync(join(root, path), "utf8"));

// Three levels down, so that the sources' `../../` paths stay inside the scratch folder.
const scratch = mkdtempSync(join(tmpdir(), "syncup-fuzz-"));
const dir = join(scratch, "a", "b", "c");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "a-file"), "a file where a folder may be named");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const oddString = fc.oneof(
  fc.constantFrom(
    "",
    "\0",
    "a\0b",
    "\n",
    "\r\n",
    " ",
    "\uD800",
    "😀",
    "../../../..",
    "./a-file",
    "./a-file/below",
    "99 99 * * *",
    "0 0 31 2 *",
    "@daily",
    "* * * * * * *",
    "Mars/Olympus",
    "sqlite:",
    "sqlite:./a-file/db.sqlite",
    "postgres://",
    "ldap://",
    "http://",
    "(",
    "x".repeat(70_000),
    "__proto__",
    "constructor",
    "hr_people",
    "Person.manager",
    "navigation",
    "complete",
  ),
  fc.string({ unit: "binary", maxLength: 12 }),
);
const oddValue = fc.oneof(
  oddString,
  fc.constantFrom(0, -1, 1.5, 128, 65536, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, Infinity, -Infinity, NaN),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constant(["a", 1, null]),
  fc.constant({ type: "csv", path: "." }),
);
const oddText = fc.constantFrom(
  "\0",
  "\n",
  "\r",
  "\t",
  ": ",
  "- ",
  "[",
  "{",
  "'",
  '"',
  "&x ",
  "*x",
  "<<: *x\n",
  "!!binary ",
  "!custom ",
  "? ",
  "---\n",
  "%YAML 1.1\n",
  "\uFEFF",
  "#",
  "|",
);

type Step =
  | { kind: "delete"; at: number }
  | { kind: "replace"; at: number; value: unknown }
  | { kind: "alias"; at: number; from: number }
  | { kind: "text"; at: number; insert: string };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: oddValue }),
  fc.record({ kind: fc.constant("alias" as const), at: fc.nat(), from: fc.nat() }),
  fc.record({ kind: fc.constant("text" as const), at: fc.nat(), insert: oddText }),
);
const mutation = fc.record({
  source: fc.nat({ max: SOURCES.length - 1 }),
  steps: fc.array(step, { minLength: 1, maxLength: 4 }),
});

/** Every path to a node of the document, in document order. */
function pathsOf(doc: Document): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    out.push(path);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key)) walk(pair.value, [...path, String(pair.key.value)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.contents, []);
  return out.slice(1);
}

/** The configuration text of `source` after `steps`. */
function mutate({ source, steps }: { source: number; steps: Step[] }): string {
  let text = SOURCES[source] ?? "";
  for (const s of steps) {
    if (s.kind === "text") {
      const at = s.at % (text.length + 1);
      text = text.slice(0, at) + s.insert + text.slice(at);
      continue;
    }
    const doc = parseDocument(text, { uniqueKeys: false });
    const paths = pathsOf(doc);
    const path = paths[s.at % Math.max(1, paths.length)];
    if (path === undefined || doc.errors.length > 0) continue;
    if (s.kind === "delete") {
      doc.deleteIn(path);
    } else if (s.kind === "replace") {
      doc.setIn(path, doc.createNode(s.value));
    } else {
      const target = doc.getIn(paths[s.from % paths.length] ?? [], true) as Node | undefined;
      // An alias of a collection may land inside that collection: a cycle, on purpose.
      if (target !== undefined && (isCollection(target) || isScalar(target))) {
        doc.setIn(path, doc.createAlias(target));
      }
    }
    try {
      text = doc.toString({ lineWidth: 0 });
    } catch {
      // An alias written before its anchor cannot be written out: skip the step.
    }
  }
  return text;
}

let written = 0;
function writeConfig(text: string): string {
  const path = join(dir, `config-${written++}.yaml`);
  writeFileSync(path, text);
  return path;
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...process.env, SYNCUP_DATABASE_URL: "" },
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.stdout.resume();
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("mutated configurations", () => {
  it("load, or are refused with a SyncupError and its code: never another exception", async () => {
    const outcomes = { loaded: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const text = mutate(m);
        try {
          await loadConfig(writeConfig(text), {});
          outcomes.loaded++;
        } catch (error) {
          if (!(error instanceof SyncupError) || !(error.code in ERROR_CODES)) {
            throw new Error(
              `not a SyncupError: ${String(error)}\n--- configuration:\n${text.slice(0, 4000)}`,
              {
                cause: error,
              },
            );
          }
          expect(error.message.length).toBeGreaterThan(0);
          outcomes.refused++;
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
    // The mutations are neither all harmless nor all fatal.
    expect(outcomes.loaded).toBeGreaterThan(10);
    expect(outcomes.refused).toBeGreaterThan(100);
  });

  it("make the binary's config check and jobs list exit 0 or 2, never with a stack trace", async () => {
    const configs = fc.sample(mutation, { seed: SEED + 1, numRuns: 20 }).map((m) => writeConfig(mutate(m)));
    // Two at a time. `jobs list` loads the configuration as `config check` does, then reads its
    // schedules: it is run on the configurations that `config check` accepted.
    const results: { args: string[]; code: number | null; stderr: string }[] = [];
    const runAll = async (runs: string[][]) => {
      for (let i = 0; i < runs.length; i += 2) {
        const batch = runs.slice(i, i + 2);
        results.push(...(await Promise.all(batch.map(async (args) => ({ args, ...(await run(args)) })))));
      }
    };
    await runAll(configs.map((config) => ["config", "check", "--config", config]));
    const accepted = results.filter((r) => r.code === 0).map((r) => r.args[3] ?? "");
    await runAll(accepted.map((config) => ["jobs", "list", "--config", config]));
    for (const { args, code, stderr } of results) {
      expect({ args, code: code === 0 || code === 2 ? "0 or 2" : code, stderr }).toEqual({
        args,
        code: "0 or 2",
        stderr: expect.not.stringMatching(/^\s+at |unexpected error/m) as unknown,
      });
    }
    expect(results.filter((r) => r.code === 0).length).toBeGreaterThan(0);
    expect(results.filter((r) => r.code === 2).length).toBeGreaterThan(0);
  });
});
