/**
 * Temporary files of a prepare killed with SIGKILL (its half-written outputs, its sort's runs)
 * are removed by the next prepare; the temporary files of work that may still be going on
 * (another process's sort, another connector's export) are left alone.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { prepareConnector } from "../../src/prepare/prepare.js";
import { tempDir, testConfig, testConfigYaml } from "../sync/helpers.js";

const bin = resolve(import.meta.dirname, "..", "..", "bin", "syncup.js");
const TEMPORARY = /\.tmp-\d+-[0-9a-f]+$/;

/** The HR export with `users` users (ids in scrambled order) and small other files. */
function writeExport(workDir: string, users: number): void {
  const dir = join(workDir, "export");
  mkdirSync(dir, { recursive: true });
  const file = openSync(join(dir, "hr_users.csv"), "w");
  try {
    writeSync(file, "id;mail;name;age;active;hired\n");
    for (let start = 0; start < users; start += 10_000) {
      const lines: string[] = [];
      for (let i = start; i < Math.min(users, start + 10_000); i++) {
        const n = (i * 7919) % users;
        lines.push(`u${n};user${n}@example.com;User number ${n} of the test;${20 + (n % 50)};Y;01/02/2020\n`);
      }
      writeSync(file, lines.join(""));
    }
  } finally {
    closeSync(file);
  }
  writeFileSync(join(dir, "hr_groups.csv"), "name;label\ng1;Group 1\n");
  writeFileSync(join(dir, "hr_members.csv"), "group;user\ng1;user1@example.com\n");
  writeFileSync(join(dir, "hr_managers.csv"), "id;managerId\nu1;u2\n");
}

function configFile(workDir: string, memoryBudgetMiB: number): string {
  const path = join(workDir, "syncup.yaml");
  writeFileSync(path, `${testConfigYaml(workDir)}prepare: { memoryBudgetMiB: ${memoryBudgetMiB} }\n`);
  return path;
}

function sortFolders(workDir: string): string[] {
  const tmp = join(workDir, "tmp");
  return existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith("syncup-sort-")) : [];
}

function temporaries(dir: string): string[] {
  return readdirSync(dir).filter((n) => TEMPORARY.test(n));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

describe("temporary files of a killed prepare", () => {
  it("are removed by the next prepare (a real SIGKILL mid-run)", async () => {
    const workDir = tempDir("syncup-kill-prepare-");
    writeExport(workDir, 600_000);
    const config = configFile(workDir, 4);
    const child = spawn(
      process.execPath,
      [bin, "prepare", "--config", config, "--connector", "HR", "--mode", "complete", "--no-progress"],
      { stdio: "ignore" },
    );
    const exited = new Promise<NodeJS.Signals | null>((ok) =>
      child.on("exit", (_code, signal) => ok(signal)),
    );
    const hr = join(workDir, "HR");
    // Kill once its outputs are open and its sort has spilled a few runs.
    await until(
      () =>
        existsSync(hr) &&
        temporaries(hr).length >= 3 &&
        sortFolders(workDir).some((f) => readdirSync(join(workDir, "tmp", f)).length >= 3),
      "the prepare's temporary files",
    );
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    expect(temporaries(hr).length).toBeGreaterThanOrEqual(3);
    expect(sortFolders(workDir)).toHaveLength(1);

    const again = spawnSync(
      process.execPath,
      [bin, "prepare", "--config", config, "--connector", "HR", "--mode", "complete", "--no-progress"],
      { encoding: "utf8" },
    );
    expect(again.status, again.stderr).toBe(0);
    expect(temporaries(hr)).toEqual([]);
    expect(sortFolders(workDir)).toEqual([]);
    expect(
      readdirSync(hr)
        .filter((n) => n !== ".lock")
        .sort(),
    ).toEqual([
      "Group.duplicates.csv",
      "Group.nullpk.csv",
      "Group.sorted.csv",
      "Manager.duplicates.csv",
      "Manager.nullpk.csv",
      "Manager.sorted.csv",
      "Membership.duplicates.csv",
      "Membership.nullpk.csv",
      "Membership.sorted.csv",
      "User.duplicates.csv",
      "User.nullpk.csv",
      "User.sorted.csv",
      "prepare.json",
    ]);
  }, 120_000);

  it("leave alone what may still be in use: a live process's sort, another connector's export", async () => {
    const workDir = tempDir("syncup-leftovers-");
    writeExport(workDir, 10);
    const config = testConfig(workDir);
    const hr = join(workDir, "HR");
    const tmp = join(workDir, "tmp");
    mkdirSync(hr, { recursive: true });
    mkdirSync(tmp, { recursive: true });
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    const hourAgo = new Date(Date.now() - 3_600_000);
    const made = {
      // Under the connector's lock every temporary file of its folder is a leftover, whoever wrote it.
      mine: join(hr, `User.sorted.csv.tmp-${process.pid}-0a1b2c`),
      json: join(hr, `prepare.json.tmp-${gone}-ff00`),
      myTable: join(workDir, "export", `hr_users.csv.tmp-${process.pid}-abcdef`),
      otherTable: join(workDir, "export", `ad_entries.csv.tmp-${gone}-abcdef`),
      goneSort: join(tmp, `syncup-sort-${gone}-aaaaaa`),
      liveSort: join(tmp, `syncup-sort-${process.pid}-bbbbbb`),
      reusedPid: join(tmp, `syncup-sort-${process.pid}-cccccc`),
      notOurs: join(tmp, "export-hr-dddddd"),
    };
    for (const path of [made.mine, made.json, made.myTable, made.otherTable]) writeFileSync(path, "partial");
    for (const path of [made.goneSort, made.liveSort, made.reusedPid, made.notOurs]) {
      mkdirSync(path);
      writeFileSync(join(path, "run-000001"), "run");
    }
    // Written an hour before this process started: by an earlier process that had the same pid.
    utimesSync(made.reusedPid, hourAgo, hourAgo);

    await prepareConnector(config, "HR", "complete");
    expect(existsSync(made.mine)).toBe(false);
    expect(existsSync(made.json)).toBe(false);
    expect(existsSync(made.myTable)).toBe(false);
    expect(existsSync(made.goneSort)).toBe(false);
    expect(existsSync(made.reusedPid)).toBe(false);
    expect(existsSync(made.otherTable)).toBe(true);
    expect(existsSync(made.liveSort)).toBe(true);
    expect(existsSync(made.notOurs)).toBe(true);
    expect(existsSync(join(hr, "User.sorted.csv"))).toBe(true);
  });
});
