/**
 * ARCHITECTURE.md's folder table is the input of the import lint (eslint.config.js through
 * scripts/architecture.mjs), and the folders form no cycle (scripts/folder-cycles.mjs). These
 * tests lint probe files (text given to ESLint under a path of src/, never written) with our
 * configuration, so that a forbidden import is shown to fail `npm run lint`.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ESLint } from "eslint";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const RULE = "@typescript-eslint/no-restricted-imports";

interface Row {
  readonly path: string;
  readonly isFile: boolean;
  readonly allowed: readonly { readonly path: string; readonly typesOnly: boolean }[];
  readonly forbiddenPaths: readonly string[];
  readonly everything: boolean;
}
interface Architecture {
  readonly rows: readonly Row[];
}
interface Pattern {
  readonly regex: string;
  readonly allowTypeImports?: boolean;
}
interface ArchitectureModule {
  readArchitecture(root: string): Architecture;
  sourceFolders(root: string): string[];
  rowOf(architecture: Architecture, folder: string): Row | undefined;
  patternsFor(root: string, architecture: Architecture, row: Row, folder: string): Pattern[];
  importBoundaryConfigs(root: string, known?: readonly KnownViolation[]): unknown[];
}
interface KnownViolation {
  readonly file: string;
  readonly import: string;
}
interface Edge {
  readonly from: string;
  readonly to: string;
}
interface CyclesModule {
  folderGraph(root: string): Map<string, Map<string, string>>;
  folderCycles(edges: Map<string, Map<string, string>>): { folders: string[]; edges: Edge[] }[];
}

/** The scripts are JavaScript, outside the TypeScript project: loaded by URL, typed here. */
async function load<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(join(root, path)).href)) as T;
}
const architectureModule = await load<ArchitectureModule>("scripts/architecture.mjs");
const cyclesModule = await load<CyclesModule>("scripts/folder-cycles.mjs");
const { KNOWN_VIOLATIONS } = await load<{ KNOWN_VIOLATIONS: readonly KnownViolation[] }>("eslint.config.js");

/** Our configuration, this rule only, without type information (a probe is in no tsconfig). */
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === RULE,
});

/** The messages of the import rule for `code` as the file `path` (relative to the repository). */
async function lint(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  expect(result?.messages.filter((m) => m.ruleId !== RULE)).toEqual([]);
  return result?.messages.map((m) => m.message) ?? [];
}

const scratch = mkdtempSync(join(tmpdir(), "syncup-architecture-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the import lint", () => {
  it("fails on a forbidden import, naming the table's row", async () => {
    const messages = await lint("src/core/probe.ts", 'import type { Config } from "../config/config.js";\n');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("'../config/config.js' import is restricted");
    expect(messages[0]).toContain("ARCHITECTURE.md: src/core/ may import nothing of ours");
  });

  it("keeps IO out of core: no node:fs, no driver, no HTTP", async () => {
    for (const module of [
      "node:fs",
      "node:fs/promises",
      "fs",
      "pg",
      "better-sqlite3",
      "node:http",
      "fastify",
    ]) {
      expect(await lint("src/core/probe.ts", `import "${module}";\n`), module).toHaveLength(1);
    }
    expect(await lint("src/core/probe.ts", 'import "node:crypto";\nimport "../errors.js";\n')).toEqual([]);
    expect(await lint("src/core/probe.ts", 'import "./ordinal.js";\n')).toEqual([]);
  });

  it("allows what a row lists, from any depth of the folder, and nothing beside it", async () => {
    expect(
      await lint("src/store/sqlite/probe.ts", 'import "../../protocol/api.js";\nimport "../driver.js";\n'),
    ).toEqual([]);
    expect(await lint("src/store/sqlite/probe.ts", 'import "../../sync/index.js";\n')).toHaveLength(1);
    expect(await lint("src/config/probe.ts", 'import "../connectors/schemas.js";\n')).toEqual([]);
    expect(await lint("src/config/probe.ts", 'import "../connectors/index.js";\n')).toHaveLength(1);
    expect(await lint("src/config/probe.ts", 'import "pg";\n')).toHaveLength(1);
  });

  it("allows a types-only entry to import types alone", async () => {
    const path = "src/connectors/ldap/probe.ts";
    expect(await lint(path, 'import type { Mode } from "../../protocol/mode.js";\n')).toEqual([]);
    expect(await lint(path, 'import { type Mode } from "../../protocol/mode.js";\n')).toEqual([]);
    expect(await lint(path, 'import { MODES } from "../../protocol/mode.js";\n')).toHaveLength(1);
    expect(await lint(path, 'import type { PATHS } from "../../protocol/api.js";\n')).toHaveLength(1);
  });

  it("keeps the commands apart: a command imports no other, the list imports them all", async () => {
    expect(await lint("src/cli/commands/probe.ts", 'import "./sync.js";\n')).toHaveLength(1);
    expect(
      await lint("src/cli/commands/probe.ts", 'import "../command.js";\nimport "../../sync/index.js";\n'),
    ).toEqual([]);
    expect(await lint("src/cli/commands/index.ts", 'import "./sync.js";\n')).toEqual([]);
  });

  it("refuses a relative path that is not in its shortest form", async () => {
    expect(await lint("src/core/probe.ts", 'import "./../config/config.js";\n')).not.toEqual([]);
    expect(await lint("src/cli/commands/probe.ts", 'import "../commands/sync.js";\n')).not.toEqual([]);
  });

  it("holds the catalogue of errors to nothing of ours", async () => {
    expect(await lint("src/errors.ts", 'import "./core/ordinal.js";\n')).toHaveLength(1);
  });
});

describe("ARCHITECTURE.md's table", () => {
  const architecture = architectureModule.readArchitecture(root);

  it("has a row, and the lint a rule, for every folder of src/", async () => {
    const folders = architectureModule
      .sourceFolders(root)
      .filter((folder) => readdirSync(join(root, folder)).some((name) => name.endsWith(".ts")));
    expect(folders.length).toBeGreaterThan(15);
    for (const folder of folders) {
      if (folder === "src") continue;
      expect(architectureModule.rowOf(architecture, folder), folder).toBeDefined();
      const config = (await eslint.calculateConfigForFile(join(root, folder, "probe.ts"))) as {
        rules: Record<string, [number, { patterns: unknown[] }]>;
      };
      const [severity, options] = config.rules[RULE] ?? [0, { patterns: [] }];
      expect(severity, folder).toBe(2);
      expect(options.patterns.length, folder).toBeGreaterThan(0);
    }
  });

  it("refuses a folder of src/ that it has no row for", () => {
    const copy = join(scratch, "unlisted");
    mkdirSync(join(copy, "src", "newfolder"), { recursive: true });
    writeFileSync(join(copy, "ARCHITECTURE.md"), readFileSync(join(root, "ARCHITECTURE.md")));
    writeFileSync(join(copy, "src", "newfolder", "x.ts"), "export const x = 1;\n");
    expect(() => architectureModule.importBoundaryConfigs(copy)).toThrow(
      "ARCHITECTURE.md: the folder table has no row for src/newfolder",
    );
  });

  it("lets the folders import each other in one direction only", () => {
    const top = architecture.rows.filter((row) => row.path.split("/").length === 2);
    const names = top.map((row) => row.path);
    const folderOf = (path: string) => path.split("/").slice(0, 2).join("/");
    const edges = new Map(
      top.map((row) => {
        const to = row.everything
          ? names.filter((name) => !row.forbiddenPaths.includes(name))
          : row.allowed.map((a) => folderOf(a.path));
        return [row.path, new Map(to.filter((t) => t !== row.path).map((t) => [t, "the table"]))];
      }),
    );
    expect(cyclesModule.folderCycles(edges)).toEqual([]);
  });

  it("lists as known violations only imports that the table forbids and that are still there", () => {
    for (const known of KNOWN_VIOLATIONS) {
      const text = readFileSync(join(root, known.file), "utf8");
      expect(
        text,
        `${known.file} no longer imports ${known.import}: remove it from KNOWN_VIOLATIONS`,
      ).toContain(`from "${known.import}"`);
      const folder = posix.dirname(known.file);
      const row = architectureModule.rowOf(architecture, folder);
      expect(row, known.file).toBeDefined();
      const patterns = architectureModule.patternsFor(root, architecture, row as Row, folder);
      const forbidden = patterns.some(
        (p) => !p.allowTypeImports && new RegExp(p.regex, "iu").test(known.import),
      );
      expect(forbidden, `the table allows ${known.file} to import ${known.import}: remove it`).toBe(true);
    }
  });
});

describe("scripts/folder-cycles.mjs", () => {
  it("finds a cycle between folders that goes through their subfolders", () => {
    const dir = join(scratch, "cycle");
    const files: Record<string, string> = {
      "src/a/a.ts": 'import { m } from "../b/x/m.js";\nexport const a = m;\n',
      "src/b/x/m.ts": "export const m = 1;\n",
      "src/b/y/n.ts": 'import type { a } from "../../a/a.js";\nexport type N = typeof a;\n',
      "src/c/c.ts": 'import { m } from "../b/x/m.js";\nexport const c = m;\n',
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, ".."), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const cycles = cyclesModule.folderCycles(cyclesModule.folderGraph(dir));
    expect(cycles.map((c) => c.folders)).toEqual([["src/a", "src/b"]]);
    expect(cycles[0]?.edges).toEqual([
      { from: "src/a", to: "src/b", example: 'src/a/a.ts imports "../b/x/m.js"' },
      { from: "src/b", to: "src/a", example: 'src/b/y/n.ts imports "../../a/a.js"' },
    ]);
  });

  it("finds none in src/", () => {
    expect(cyclesModule.folderCycles(cyclesModule.folderGraph(root))).toEqual([]);
  });
});
