/**
 * What a command loads: `syncup run` on the quickstart example (CSV files into SQLite) imports
 * no library that only another command, connection type or database needs. Every process
 * pays for what it imports, in start-up time and in memory, before it reads a row: the HTTP
 * server's stack, PostgreSQL's and MySQL's clients, the directory client and the brokers' and
 * CloudEvents' packages together took about 35 MiB and 0.4 s of every command.
 *
 * The process runs with a module hook (`node --import`) that writes each URL the loader
 * resolves into a file; the packages are read off the `node_modules` folders in those URLs.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { bin, quickstart } from "./binary.js";

const dir = mkdtempSync(join(tmpdir(), "syncup-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Packages that a CSV export into a SQLite repository has no use for. */
const NOT_NEEDED = [
  "fastify",
  "@fastify/swagger",
  "prom-client",
  "pg",
  "pg-copy-streams",
  "mysql2",
  "ldapts",
  "nats",
  "amqplib",
  "cloudevents",
];

/** Runs `syncup args` in `dir`; returns its exit code and the packages it imported. */
function packagesLoaded(args: readonly string[]): { code: number; stderr: string; packages: Set<string> } {
  const log = join(dir, "resolved.log");
  writeFileSync(log, "");
  const hooks = join(dir, "hooks.mjs");
  writeFileSync(
    hooks,
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + "\\n");
  return resolved;
}
`,
  );
  const register = join(dir, "register.mjs");
  writeFileSync(
    register,
    `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  const env = { ...process.env };
  delete env["SYNCUP_DATABASE_URL"];
  const result = spawnSync(process.execPath, ["--import", pathToFileURL(register).href, bin, ...args], {
    cwd: dir,
    encoding: "utf8",
    env,
  });
  const packages = new Set<string>();
  for (const url of readFileSync(log, "utf8").split("\n")) {
    const match = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match?.[1] !== undefined) packages.add(match[1]);
  }
  return { code: result.status ?? -1, stderr: result.stderr, packages };
}

describe("what a command imports", () => {
  it("syncup run of CSV files into SQLite loads no server, database client, directory client or broker", () => {
    const config = quickstart(dir);
    const run = packagesLoaded(["run", "--config", config, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    // The hook sees what it should: the libraries this run uses.
    expect(run.packages).toContain("better-sqlite3");
    expect(run.packages).toContain("yaml");
    expect(NOT_NEEDED.filter((p) => run.packages.has(p))).toEqual([]);
  });

  it("syncup server --help loads no server either: a command's libraries come with its action", () => {
    const help = packagesLoaded(["server", "--help"]);
    expect(help.code).toBe(0);
    expect(help.packages).toContain("commander");
    expect(NOT_NEEDED.filter((p) => help.packages.has(p))).toEqual([]);
  });
});
