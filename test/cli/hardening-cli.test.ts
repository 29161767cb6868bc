/**
 * The binary at its edges: configurations that passed `config check` and failed later, a
 * reader that closes the output early, progress bars on a terminal and nowhere else,
 * `prepare accept` as the README writes it, and the package's file list.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quickstart, root, shell, syncup as binary } from "./binary.js";

const dir = mkdtempSync(join(tmpdir(), "syncup-edges-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const syncup = (args: string[]) => binary(args, dir);

/** A stack trace's frame line, which no message to a user has. */
const STACK = /^\s+at /m;

describe("configurations that once passed `config check` and failed later", () => {
  const base = quickstart(join(dir, "configs"));
  const text = readFileSync(base, "utf8");
  writeFileSync(join(dir, "configs", "afile"), "a file, not a folder");
  const bomb = [
    "a: &a [x, x, x, x, x, x, x, x, x, x]",
    ..."bcdefghi".split("").map((k, i) => `${k}: &${k} [${Array(10).fill(`*${"abcdefgh"[i]}`).join(", ")}]`),
  ].join("\n");
  /** Each case: the configuration, its problem, and a command it used to fail in (exit 1, a stack trace). */
  const cases: [name: string, yaml: string, problem: RegExp, failedIn: string[]][] = [
    [
      "an alias bomb",
      `${bomb}\n${text}`,
      /^ {2}- b\.0: this alias .* too much data .*\(line 2\)$/m,
      ["resources", "list", "--connector", "HR"],
    ],
    [
      "a schedule croner cannot read",
      text.replace('schedule: "0 5 * * *"', 'schedule: "99 99 * * *"'),
      /^ {2}- jobs\.HR_daily\.schedule: not a valid cron expression: Invalid value for minute: 99 \(line \d+\)$/m,
      ["jobs", "list"],
    ],
    [
      "a NUL in a path",
      text.replace("workDir: ./work", 'workDir: ./work\nexportDir: "\\0"'),
      /^ {2}- exportDir: contains a NUL character .*\(line 6\)$/m,
      ["run"],
    ],
    [
      "a work folder that is a file",
      text.replace("workDir: ./work", "workDir: ./afile"),
      /^ {2}- workDir: the work folder ".*afile" is a file, not a folder \(line 5\)$/m,
      ["run"],
    ],
    [
      "a line break for a separator",
      text.replace('separator: ","', 'separator: "\\n"'),
      /^ {2}- connectors\.HR\.connections\.hr\.separator: separator must be exactly one character other than CR or LF, got "\\n" \(line \d+\)$/m,
      ["prepare", "--connector", "HR"],
    ],
  ];

  it.each(cases)(
    "%s: refused by config check and where it failed, with exit 2, path and line",
    (name, yaml, problem, failedIn) => {
      const config = join(dir, "configs", `${name.replace(/\W+/g, "-")}.yaml`);
      writeFileSync(config, yaml);
      for (const command of [["config", "check"], failedIn]) {
        const { code, stdout, stderr } = syncup([...command, "--config", config]);
        expect({ command, code, stdout }).toEqual({ command, code: 2, stdout: "" });
        expect(stderr).toMatch(/^syncup: error CONFIG_INVALID: ".*\.yaml" has 1 problem:\n/);
        expect(stderr).toMatch(problem);
        expect(stderr).not.toMatch(STACK);
      }
    },
  );
});

describe("the quickstart's repository, from a terminal and through pipes", () => {
  let config = "";
  beforeAll(() => {
    config = quickstart(join(dir, "repo"));
    const loaded = syncup(["run", "--config", config]);
    expect(loaded.code, loaded.stderr).toBe(0);
  });

  it("a reader that stops early ends the command quietly, with exit 0", () => {
    const list = `$SYNCUP resources list --config ${config} --connector AD --json --limit 100000`;
    // Far more than a pipe holds, so that the writer is still writing when the reader goes.
    expect(shell(`${list} | wc -c`, dir).stdout.trim()).toMatch(/^\d{6,}$/);
    const { stdout, stderr } = shell(`${list} | head -c 100; echo " status=\${PIPESTATUS[0]}"`, dir);
    expect(stdout).toMatch(/^\[\n {2}\{\n[\s\S]{80,} status=0\n$/);
    expect(stderr).toBe("");
  });

  it("every command takes --no-progress", () => {
    for (const args of [
      ["config", "check", "--config", config],
      ["jobs", "list", "--config", config],
      ["batches", "list", "--config", config],
      ["resources", "list", "--config", config, "--connector", "HR"],
      ["export", "--config", config, "--connector", "HR"],
      ["prepare", "--config", config, "--connector", "HR"],
      ["prepare", "accept", "--config", config, "--connector", "HR"],
      ["sync", "--config", config, "--connector", "HR"],
      ["run", "--config", config, "--connector", "HR"],
    ]) {
      const { code, stderr } = syncup([...args, "--no-progress"]);
      expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: "" });
    }
  });

  /** Runs `syncup args` with a pseudo-terminal for its standard output and error. */
  const inTerminal = (args: string) => shell(`script -qec "$SYNCUP ${args}" /dev/null`, dir);
  const bar = (label: string, unit: string) =>
    new RegExp(`${label} \\[[=-]{40}\\] 100% \\d+(\\.\\d)?/\\d+(\\.\\d)? ${unit}`);

  it("sync and run show progress bars on a terminal, per mapping, in rows", () => {
    expect(syncup(["prepare", "--config", config, "--connector", "AD"]).code).toBe(0);
    const sync = inTerminal(`sync --config ${config} --connector AD`);
    expect(sync.code).toBe(0);
    for (const mapping of ["AD_Entry", "AD_Entry_Members", "AD_Entry_Manager"])
      expect(sync.stdout).toMatch(bar(mapping, "rows"));
    const run = inTerminal(`run --config ${config} --connector HR --mode complete`);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(bar("HR hr_people", "MiB"));
    expect(run.stdout).toMatch(bar("HR Person", "rows"));
    expect(run.stdout).toMatch(bar("HR Person_Manager", "rows"));
  });

  it("no progress bar with --no-progress, with --json, or when the output is not a terminal", () => {
    for (const args of [
      `sync --config ${config} --connector AD --no-progress`,
      `run --config ${config} --json`,
    ]) {
      const { code, stdout } = inTerminal(args);
      expect(code).toBe(0);
      expect(stdout).not.toMatch(/\[[=-]{40}\]/);
    }
    const piped = shell(`$SYNCUP run --config ${config} | cat`, dir);
    expect(piped.stderr).toBe("");
    expect(piped.stdout).not.toContain("\u001b");
    // Standard error a terminal, standard output a pipe: still no bar.
    const half = shell(
      `script -qec "$SYNCUP run --config ${config} > ${join(dir, "report.txt")}" /dev/null`,
      dir,
    );
    expect(half.stdout).not.toMatch(/\[[=-]{40}\]/);
    expect(readFileSync(join(dir, "report.txt"), "utf8")).toContain("Repository: sqlite:");
  });

  it("prepare accept, as the README writes it, with its options before or after `accept`", () => {
    expect(syncup(["prepare", "--config", config, "--connector", "AD"]).code).toBe(0);
    const previous = join(dir, "repo", "work", "AD", "previous", "manifest.json");
    const batchOf = () => (JSON.parse(readFileSync(previous, "utf8")) as { batch: string | null }).batch;
    for (const [args, batch] of [
      [["prepare", "accept", "--config", config, "--connector", "AD", "--batch", "b-1"], "b-1"],
      [["prepare", "accept", "--batch", "b-2", "--connector", "AD", "--config", config], "b-2"],
      [["prepare", "--connector", "AD", "--config", config, "accept", "--batch", "b-3"], "b-3"],
      [["prepare", "--connector", "AD", "accept", "--config", config], null],
    ] as const) {
      const accepted = syncup([...args]);
      expect({ args, code: accepted.code, stderr: accepted.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(accepted.stdout).toBe(`previous/ of AD now holds 3 files (batch ${batch ?? "local"}).\n`);
      expect(batchOf()).toBe(batch);
    }
    const missing = syncup(["prepare", "accept", "--config", config]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--connector <name>' not specified");
  });
});

describe("the package", () => {
  it("names in `files` only what exists, and packs what the binary needs", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { files: string[] };
    for (const entry of pkg.files) expect(existsSync(join(root, entry)), entry).toBe(true);
    const packed = spawnSync("npm", ["pack", "--dry-run", "--ignore-scripts", "--json"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(packed.status, packed.stderr).toBe(0);
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        "bin/syncup.js",
        "dist/cli/main.js",
        "dist/store/migrations/index.js",
        "package.json",
      ]),
    );
    expect(files?.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([]);
  });
});
