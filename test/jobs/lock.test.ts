/**
 * The per-connector lock file: held by a live process → JOB_RUNNING naming it; left by a dead
 * process (or by an earlier process that had our pid) → taken over; released however the job ends.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock, lockPath, withConnectorLock } from "../../src/jobs/lock.js";
import { SyncupError } from "../../src/errors.js";
import { CONNECTOR, tempDir, testConfig } from "../sync/helpers.js";
import { dirname } from "node:path";

const dir = tempDir("syncup-lock-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = testConfig(dir);
const path = lockPath(config, CONNECTOR);

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(child.stdout);
}

function writeLock(content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

describe("connector lock", () => {
  it("holds the pid and the job's name, refuses a second holder, and is released", async () => {
    const lock = await acquireLock(config, CONNECTOR, "HR_daily");
    expect(readFileSync(path, "utf8")).toBe(`${process.pid}\nHR_daily\n`);
    const refused = await acquireLock(config, CONNECTOR, "HR_incremental").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SyncupError);
    expect((refused as SyncupError).code).toBe("JOB_RUNNING");
    expect((refused as SyncupError).message).toContain(`job "HR_daily" runs in process ${process.pid}`);
    await lock.release();
    expect(existsSync(path)).toBe(false);
    await lock.release();
  });

  it("refuses while another live process holds it", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      writeLock(`${child.pid}\nother_job\n`);
      const refused = await acquireLock(config, CONNECTOR, "HR_daily").catch((e: unknown) => e);
      expect((refused as SyncupError).code).toBe("JOB_RUNNING");
      expect((refused as SyncupError).message).toContain(`process ${child.pid}`);
      expect(readFileSync(path, "utf8")).toBe(`${child.pid}\nother_job\n`);
    } finally {
      child.kill();
      rmSync(path, { force: true });
    }
  });

  it("takes over a lock whose process is gone", async () => {
    const pid = deadPid();
    writeLock(`${pid}\ncrashed_job\n`);
    const lock = await acquireLock(config, CONNECTOR, "HR_daily");
    expect(readFileSync(path, "utf8")).toBe(`${process.pid}\nHR_daily\n`);
    await lock.release();
  });

  it("takes over a lock with this process's pid that this process does not hold (pid reused after a restart)", async () => {
    writeLock(`${process.pid}\nbefore_restart\n`);
    const lock = await acquireLock(config, CONNECTOR, "HR_daily");
    expect(readFileSync(path, "utf8")).toBe(`${process.pid}\nHR_daily\n`);
    await lock.release();
  });

  it("is released when the job throws", async () => {
    await expect(
      withConnectorLock(config, CONNECTOR, "HR_daily", () => Promise.reject(new Error("export failed"))),
    ).rejects.toThrow("export failed");
    expect(existsSync(path)).toBe(false);
  });
});
