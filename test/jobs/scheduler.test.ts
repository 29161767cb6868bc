/**
 * The scheduler on real jobs: two jobs of one connector, each scheduled every second, whose
 * export (an external command) takes longer than a second. They never overlap, a firing while
 * a job runs or waits is skipped, and stop() returns once the running job ended, after its
 * current task.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { lockPath } from "../../src/jobs/lock.js";
import { runJob } from "../../src/jobs/runner.js";
import { cronOf, startScheduler } from "../../src/jobs/scheduler.js";
import { openStore } from "../../src/store/store.js";
import { memoryLogger } from "../agent/helpers.js";
import { slowConfigYaml } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "syncup-scheduler-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("startScheduler", () => {
  it("runs the jobs of a connector one at a time, skips firings while busy, and stops after the current task", async () => {
    const configFile = join(dir, "syncup.yaml");
    writeFileSync(configFile, slowConfigYaml(1300, "* * * * * *"));
    const config = await loadConfig(configFile, {});
    const { logger, lines } = memoryLogger();
    let started = 0;
    let finished = 0;
    const scheduler = startScheduler(config, {
      logger,
      env: {},
      run: async (c, name, deps) => {
        started++;
        try {
          return await runJob(c, name, deps);
        } finally {
          finished++;
        }
      },
    });
    expect(scheduler.scheduled.map((s) => s.job.name)).toEqual(["SLOW_a", "SLOW_b"]);

    await until(() => started === 2, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // the second job is in its export (1.3 s)
    const stopAsked = Date.now();
    await scheduler.stop();
    const stopTook = Date.now() - stopAsked;
    expect(finished).toBe(started);
    expect(scheduler.busy()).toEqual([]);
    expect(existsSync(lockPath(config, "SLOW"))).toBe(false);
    // the second job was in its export: stop waited for it
    expect(stopTook).toBeGreaterThan(500);

    const store = await openStore(config.databaseUrl);
    const instances = (await store.jobs.list({ limit: 10 })).reverse();
    await store.close();
    expect(instances).toHaveLength(2);
    expect(instances[0]).toMatchObject({ outcome: "succeeded" });
    expect(instances[1]).toMatchObject({ outcome: "failed" });
    expect(instances[1]?.message).toContain("stopped before the prepare task");
    expect(instances[1]?.tasks.map((t) => [t.task, t.outcome])).toEqual([
      ["export", "succeeded"],
      ["prepare", "skipped"],
      ["synchronize", "skipped"],
    ]);
    expect(instances[1]!.startedAt >= instances[0]!.finishedAt).toBe(true);
    expect(lines.some((l) => l.msg.includes("skipped: it is already running or queued"))).toBe(true);
    expect(lines.some((l) => l.msg.includes("JOB_RUNNING") || l.msg.includes("is busy"))).toBe(false);
    expect(lines.filter((l) => l.jobInstance !== undefined)).toHaveLength(2);

    // nothing runs after stop
    const after = started;
    await new Promise((r) => setTimeout(r, 1200));
    expect(started).toBe(after);
  });

  it("gives each schedule's next run in its time zone", () => {
    const next = cronOf({
      name: "j",
      connector: "SLOW",
      mode: "complete",
      schedule: "0 5 * * *",
      timeZone: "Europe/Paris",
      tasks: ["export"],
    }).nextRun();
    expect(next).not.toBeNull();
    const paris = new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Paris",
      hour: "2-digit",
      minute: "2-digit",
    });
    expect(paris.format(next!)).toBe("05:00");
  });
});
