/** The real `syncup` binary (built by `npm test`), run as a user would run it, and its example. */
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dirname, "..", "..");
export const bin = join(root, "bin", "syncup.js");

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `syncup args` in `cwd`, with no SYNCUP_DATABASE_URL of the caller's. */
export function syncup(args: readonly string[], cwd: string): Outcome {
  const env = { ...process.env };
  delete env["SYNCUP_DATABASE_URL"];
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", env });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a shell command line (pipes, a pseudo-terminal) in `cwd`; `$SYNCUP` is the binary. */
export function shell(line: string, cwd: string): Outcome {
  const env: NodeJS.ProcessEnv = { ...process.env, SYNCUP: `${process.execPath} ${bin}` };
  delete env["SYNCUP_DATABASE_URL"];
  const result = spawnSync("bash", ["-c", line], { cwd, encoding: "utf8", env });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * A copy of the quickstart example in `dir`, whose work and data folders stay inside it;
 * returns the path of its configuration.
 */
export function quickstart(dir: string): string {
  cpSync(join(root, "examples", "quickstart"), dir, { recursive: true });
  const path = join(dir, "syncup.yaml");
  writeFileSync(
    path,
    readFileSync(path, "utf8")
      .replace("workDir: ../../work", "workDir: ./work")
      .replace("sqlite:../../data/syncup.db", "sqlite:./data/syncup.db"),
  );
  return path;
}
