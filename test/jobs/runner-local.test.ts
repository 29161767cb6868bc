/**
 * Jobs without an agent section: export → prepare → synchronize in one process into a SQLite
 * repository, on a copy of the quickstart example, each instance recorded in the repository.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load.js";
import { SyncupError } from "../../src/errors.js";
import { lockPath } from "../../src/jobs/lock.js";
import { runJob } from "../../src/jobs/runner.js";
import { readPreviousManifest } from "../../src/prepare/previous.js";
import { openStore, type Store } from "../../src/store/store.js";
import { memoryLogger, quickstartCopy } from "../agent/helpers.js";

const JOBS = `
  HR_initial: { connector: HR, mode: initial }
  HR_complete: { connector: HR, mode: complete }
  HR_incremental: { connector: HR, mode: incremental }
  HR_prepare_only: { connector: HR, mode: complete, tasks: [export, prepare] }
`;

const { dir, configFile } = quickstartCopy(JOBS);
let config: Config;
let store: Store;
const { logger } = memoryLogger();
beforeAll(async () => {
  config = await loadConfig(configFile, {});
  store = await openStore(config.databaseUrl);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (job: string) => runJob(config, job, { logger, env: {}, store });

describe("runJob without a server", () => {
  it("loads the connector and records the instance with each task's outcome and counts", async () => {
    const { instance, error } = await run("HR_initial");
    expect(error).toBeUndefined();
    expect(instance).toMatchObject({
      job: "HR_initial",
      connector: "HR",
      mode: "initial",
      ranMode: "initial",
      agent: null,
      outcome: "succeeded",
      message: null,
    });
    expect(instance.tasks.map((t) => [t.task, t.outcome])).toEqual([
      ["export", "succeeded"],
      ["prepare", "succeeded"],
      ["synchronize", "succeeded"],
    ]);
    expect(instance.tasks[0]?.counts).toMatchObject({ files: 1, rows: 300 });
    expect(instance.tasks[1]?.counts).toMatchObject({ mappings: 2, rowsRead: 600 });
    expect(instance.tasks[2]?.counts).toMatchObject({ resourcesInserted: 300 });
    expect(instance.batchId).not.toBeNull();
    expect((await readPreviousManifest(config, "HR"))?.batch).toBe(instance.batchId);
    expect(await store.jobs.list({ job: "HR_initial", limit: 5 })).toEqual([instance]);
    expect(existsSync(lockPath(config, "HR"))).toBe(false);
  });

  it("runs an incremental against previous/", async () => {
    const { instance } = await run("HR_incremental");
    expect(instance).toMatchObject({ ranMode: "incremental", outcome: "succeeded", message: null });
    expect(instance.tasks[2]?.counts).toMatchObject({
      resourcesInserted: 0,
      resourcesUpdated: 0,
      resourcesDeleted: 0,
    });
  });

  it("falls back to a complete run when previous/ was tampered with", async () => {
    const prev = join(config.workDir, "HR", "previous", "Person.sorted.csv");
    writeFileSync(prev, `${readFileSync(prev, "utf8")}ZZZ;x;y;z@example.com;Sales;01/01/2020;Y\n`);
    const { instance, error } = await run("HR_incremental");
    expect(error).toBeUndefined();
    expect(instance).toMatchObject({ mode: "incremental", ranMode: "complete", outcome: "succeeded" });
    expect(instance.message).toContain("The incremental run could not go on");
    expect(instance.message).toContain("previous/ was tampered with");
    expect(instance.tasks.map((t) => [t.task, t.outcome])).toEqual([
      ["export", "succeeded"],
      ["prepare", "failed"],
      ["export", "succeeded"],
      ["prepare", "succeeded"],
      ["synchronize", "succeeded"],
    ]);
    expect((await readPreviousManifest(config, "HR"))?.batch).toBe(instance.batchId);
  });

  it("stops after prepare when the job's tasks say so", async () => {
    const { instance } = await run("HR_prepare_only");
    expect(instance.outcome).toBe("succeeded");
    expect(instance.batchId).toBeNull();
    expect(instance.tasks.map((t) => t.task)).toEqual(["export", "prepare"]);
  });

  it("reports a blocked batch, then makes the incrementals wait for it", async () => {
    const hr = join(dir, "hr", "hr_people_20261126.csv");
    const original = readFileSync(hr, "latin1");
    const rows = original.split("\r\n");
    writeFileSync(hr, Buffer.from(rows.filter((_, i) => i < 2 || i % 2 === 0).join("\r\n"), "latin1"));
    const blocked = await run("HR_complete");
    expect(blocked.instance.outcome).toBe("blocked");
    expect(blocked.instance.message).toContain(`syncup batches changes ${blocked.instance.batchId}`);
    expect(blocked.instance.tasks[2]?.counts).toMatchObject({ resourcesDeleted: 150 });

    const waiting = await run("HR_incremental");
    expect(waiting.instance.outcome).toBe("waiting");
    expect(waiting.instance.message).toContain(`blocked batch ${blocked.instance.batchId}`);
    expect(waiting.instance.tasks.map((t) => [t.task, t.outcome])).toEqual([
      ["export", "skipped"],
      ["prepare", "skipped"],
      ["synchronize", "skipped"],
    ]);
    writeFileSync(hr, Buffer.from(original, "latin1"));
  });

  it("fails with the error's code in the message when a task fails", async () => {
    const hr = join(dir, "hr", "hr_people_20261126.csv");
    const original = readFileSync(hr);
    writeFileSync(hr, "only a title line\r\nemployeeId,firstName\r\n1,a,b\r\n");
    try {
      const { instance, error } = await run("HR_complete");
      expect(instance.outcome).toBe("failed");
      expect((error as SyncupError).code).toBe("CSV_RAGGED_ROW");
      expect(instance.message).toMatch(/^CSV_RAGGED_ROW: /);
      expect(instance.tasks.map((t) => [t.task, t.outcome])).toEqual([
        ["export", "failed"],
        ["prepare", "skipped"],
        ["synchronize", "skipped"],
      ]);
      expect((await store.jobs.list({ limit: 1 }))[0]?.id).toBe(instance.id);
    } finally {
      writeFileSync(hr, original);
    }
  });

  it("refuses to run while another process runs a job of the connector", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      writeFileSync(lockPath(config, "HR"), `${child.pid}\nHR_complete\n`);
      const error = await run("HR_complete").catch((e: unknown) => e);
      expect((error as SyncupError).code).toBe("JOB_RUNNING");
    } finally {
      child.kill();
      rmSync(lockPath(config, "HR"), { force: true });
    }
  });

  it("refuses an unknown job", async () => {
    const error = await run("nope").catch((e: unknown) => e);
    expect((error as SyncupError).code).toBe("JOB_NOT_FOUND");
    expect((error as SyncupError).message).toContain("HR_initial");
  });
});

describe("runJob without a server, from an empty work folder", () => {
  it("runs an incremental job as an initial one when there is no previous/ and the repository is empty", async () => {
    const copy = quickstartCopy(JOBS);
    try {
      const cfg = await loadConfig(copy.configFile, {});
      const { instance } = await runJob(cfg, "HR_incremental", { logger, env: {} });
      expect(instance).toMatchObject({ mode: "incremental", ranMode: "initial", outcome: "succeeded" });
      expect(instance.tasks.map((t) => t.task)).toEqual(["export", "prepare", "synchronize"]);
      expect(instance.message).toContain("has no previous/");
      const s = await openStore(cfg.databaseUrl);
      try {
        expect((await s.jobs.list({ limit: 5 })).map((i) => i.id)).toEqual([instance.id]);
      } finally {
        await s.close();
      }
    } finally {
      rmSync(copy.dir, { recursive: true, force: true });
    }
  });
});
