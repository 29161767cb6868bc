/**
 * Runs of one connector that overlap while the source changes, with real processes, on both
 * dialects: a connector's Sync Up holds its lock from export to accept, so a second run, prepare
 * or export is refused at once instead of slipping its files under the first one's batch; and
 * the next incremental then carries every change of the new export.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/sync/index.js";
import { testDatabases } from "../store/dialects.js";
import {
  CONNECTOR,
  dataset,
  snapshot,
  tempDir,
  testConfigYaml,
  user,
  writeExport,
  type Dataset,
} from "./helpers.js";

const root = resolve(import.meta.dirname, "..", "..");
const bin = join(root, "bin", "syncup.js");

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

function syncup(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...process.env, SYNCUP_DATABASE_URL: "", ...env },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The export after a day of changes: 50 people arrive, 200 change. */
function changed(base: Dataset): Dataset {
  const users = base.users.map((u, i) => (i % 3 === 0 ? user(i + 1, 1) : u));
  for (let n = 1001; n <= 1050; n++) users.push(user(n));
  return { ...base, users };
}

describe.each(databases)("overlapping runs of one connector on $dialect", (db) => {
  it("refuses a run, a prepare and an export while a synchronization holds the connector, and loses no change", async () => {
    const workDir = tempDir();
    const url = db.url();
    const config = join(workDir, "syncup.yaml");
    writeFileSync(config, testConfigYaml(workDir, {}, url));
    const base = dataset(300);
    await writeExport(workDir, base);
    expect(syncup(["run", "--config", config, "--mode", "initial"]).code).toBe(0);

    // A: a complete of the same export, paused inside its apply.
    expect(syncup(["prepare", "--config", config, "--connector", CONNECTOR, "--mode", "complete"]).code).toBe(
      0,
    );
    const a = spawn(
      process.execPath,
      [bin, "sync", "--config", config, "--connector", CONNECTOR, "--mode", "complete"],
      { env: { ...process.env, SYNCUP_DATABASE_URL: "", SYNCUP_TEST_APPLY_PAUSE_MS: "4000" } },
    );
    let stderr = "";
    const paused = new Promise<void>((done) =>
      a.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes("paused before the apply step")) done();
      }),
    );
    const exited = new Promise<number>((done) => a.on("exit", (code) => done(code ?? -1)));
    await paused;

    // Meanwhile the source changes, and other runs of the connector start.
    const manifest = join(workDir, CONNECTOR, "prepare.json");
    const prepared = readFileSync(manifest, "utf8");
    const next = changed(base);
    await writeExport(workDir, next);
    for (const args of [
      ["run", "--config", config, "--connector", CONNECTOR, "--mode", "complete"],
      ["prepare", "--config", config, "--connector", CONNECTOR, "--mode", "incremental"],
      ["export", "--config", config, "--connector", CONNECTOR, "--mode", "complete"],
    ]) {
      const refused = syncup(args);
      expect(refused.code, args[0]).toBe(2);
      expect(refused.stderr).toMatch(/Connector "HR" is busy: job "syncup sync" runs in process \d+/);
    }
    expect(readFileSync(manifest, "utf8")).toBe(prepared);
    expect(await exited).toBe(0);

    // The next incremental carries the whole day's changes.
    const incremental = syncup([
      "run",
      "--config",
      config,
      "--connector",
      CONNECTOR,
      "--mode",
      "incremental",
      "--json",
    ]);
    expect(incremental.stderr).toBe("");
    const report = JSON.parse(incremental.stdout) as {
      runs: { sync: { resources: Record<string, number> } }[];
    };
    expect(report.runs[0]?.sync.resources).toMatchObject({ inserted: 50, updated: 100 });

    const fresh = tempDir();
    const freshConfig = join(fresh, "syncup.yaml");
    writeFileSync(freshConfig, testConfigYaml(fresh, {}, db.url()));
    await writeExport(fresh, next);
    expect(syncup(["run", "--config", freshConfig, "--mode", "initial"]).code).toBe(0);
    const [held, expected] = [await openStore(url), await openStore(readUrl(freshConfig))];
    try {
      expect(await snapshot(held)).toEqual(await snapshot(expected));
    } finally {
      await held.close();
      await expected.close();
    }
  });
});

function readUrl(config: string): string {
  const match = /url: "([^"]+)"/.exec(readFileSync(config, "utf8"));
  if (match?.[1] === undefined) throw new Error(`no database url in ${config}`);
  return match[1];
}
