/**
 * `syncup jobs list|run|history` and `syncup agent --once`, in process (main() with captured
 * streams), locally and through the test peer; and the agent's signal handling: the first
 * SIGTERM stops gracefully, a second one exits at once.
 */
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { runUntilSignalled } from "../../src/cli/signals.js";
import { main } from "../../src/cli/main.js";
import { loadConfig } from "../../src/config/load.js";
import { startScheduler } from "../../src/jobs/scheduler.js";
import type { JobInstance } from "../../src/protocol/api.js";
import { AGENT_ENV, agentSection, memoryLogger, quickstartCopy } from "../agent/helpers.js";
import { TestPeer } from "../agent/peer.js";
import { slowConfigYaml } from "./helpers.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sink(): { stream: Writable; text: () => string } {
  let text = "";
  return {
    stream: new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    }),
    text: () => text,
  };
}

async function syncup(args: string[], env: Record<string, string> = {}) {
  const out = sink();
  const err = sink();
  const code = await main(["node", "syncup", ...args], {
    stdout: out.stream,
    stderr: err.stream,
    env,
    cwd: process.cwd(),
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

const JOBS = `
  HR_daily: { connector: HR, mode: complete, schedule: "0 5 * * *", timeZone: Europe/Paris }
  HR_incremental: { connector: HR, mode: incremental, schedule: "*/15 7-19 * * 1-5", timeZone: Europe/Paris }
  AD_manual: { connector: AD, mode: initial, tasks: [export, prepare] }
`;

describe("syncup jobs, without a server", () => {
  const { dir, configFile } = quickstartCopy(JOBS);
  dirs.push(dir);

  it("lists the jobs with their next run", async () => {
    const table = await syncup(["jobs", "list", "--config", configFile]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /HR_daily[\s│]+HR[\s│]+complete[\s│]+0 5 \* \* \*[\s│]+Europe\/Paris[\s│]+export, prepare, synchronize[\s│]+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/,
    );
    expect(table.stdout).toContain("(manual)");
    const json = JSON.parse((await syncup(["jobs", "list", "--config", configFile, "--json"])).stdout) as {
      name: string;
      nextRun: string;
    }[];
    expect(json.map((j) => j.name)).toEqual(["HR_daily", "HR_incremental", "AD_manual"]);
  });

  it("runs a job now, prints its instance, and shows it in the history", async () => {
    const ran = await syncup(["jobs", "run", "HR_daily", "--config", configFile]);
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(3); // a complete into an empty repository crosses the inserted-lines threshold
    expect(ran.stdout).toContain("Job HR_daily (connector HR, complete): BLOCKED");
    expect(ran.stdout).toMatch(/synchronize[\s│]+succeeded/);

    const first = await syncup(["jobs", "run", "AD_manual", "--config", configFile, "--json"]);
    expect(first.code).toBe(0);
    const instance = JSON.parse(first.stdout) as JobInstance;
    expect(instance.tasks.map((t) => t.task)).toEqual(["export", "prepare"]);

    const history = await syncup(["jobs", "history", "--config", configFile, "--json"]);
    expect((JSON.parse(history.stdout) as JobInstance[]).map((i) => [i.job, i.outcome])).toEqual([
      ["AD_manual", "succeeded"],
      ["HR_daily", "blocked"],
    ]);
    const one = await syncup(["jobs", "history", "--config", configFile, "--job", "HR_daily"]);
    expect(one.stdout).toMatch(/HR_daily[\s│]+HR[\s│]+complete[\s│]+blocked/);
    expect(one.stdout).not.toContain("AD_manual");
  });

  it("exits 2 for an unknown job", async () => {
    const result = await syncup(["jobs", "run", "nope", "--config", configFile]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error JOB_NOT_FOUND");
  });

  it("agent --once logs JSON lines and exits with the job's outcome", async () => {
    const result = await syncup(["agent", "--config", configFile, "--once", "HR_incremental"]);
    expect(result.code).toBe(3); // the HR connector has a blocked batch: the incremental waits
    const logged = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; jobInstance?: JobInstance });
    expect(logged.at(-1)?.jobInstance?.outcome).toBe("waiting");
  });
});

describe("syncup jobs and agent, through a server", () => {
  it("runs a job through the server and reads the history from it", async () => {
    const peer = await TestPeer.start();
    try {
      const { dir, configFile } = quickstartCopy(JOBS, agentSection(peer.url));
      dirs.push(dir);
      const ran = await syncup(["agent", "--config", configFile, "--once", "HR_daily"], AGENT_ENV);
      expect(ran.code).toBe(0);
      expect(peer.instances).toHaveLength(1);
      const history = await syncup(["jobs", "history", "--config", configFile, "--json"], AGENT_ENV);
      expect(history.code).toBe(0);
      expect((JSON.parse(history.stdout) as JobInstance[]).map((i) => i.id)).toEqual([peer.instances[0]?.id]);
      const missing = await syncup(["jobs", "history", "--config", configFile], {});
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("SYNCUP_AGENT_SECRET");
    } finally {
      await peer.close();
    }
  });
});

describe("runUntilSignalled", () => {
  async function slowScheduler() {
    const dir = mkdtempSync(join(tmpdir(), "syncup-agent-"));
    dirs.push(dir);
    const configFile = join(dir, "slow.yaml");
    writeFileSync(configFile, slowConfigYaml(800, "* * * * * *"));
    const config = await loadConfig(configFile, {});
    const { logger, lines } = memoryLogger();
    const scheduler = startScheduler(config, { logger, env: {} });
    const stoppable = {
      name: "Agent",
      stop: () => scheduler.stop(),
      busy: () => scheduler.busy().join(", "),
    };
    return { scheduler, stoppable, lines };
  }

  it("stops gracefully on the first signal", async () => {
    const { scheduler, stoppable, lines } = await slowScheduler();
    const signals = new EventEmitter();
    const exits: number[] = [];
    const done = runUntilSignalled(stoppable, memoryLogger().logger, signals, (code) => exits.push(code));
    await new Promise((r) => setTimeout(r, 1300));
    signals.emit("SIGTERM", "SIGTERM");
    await done;
    expect(exits).toEqual([]);
    expect(scheduler.busy()).toEqual([]);
    expect(signals.listenerCount("SIGTERM")).toBe(0);
    expect(lines.some((l) => l.jobInstance !== undefined)).toBe(true);
  });

  it("exits at once on a second signal", async () => {
    const { stoppable } = await slowScheduler();
    const signals = new EventEmitter();
    const exits: number[] = [];
    const done = runUntilSignalled(stoppable, memoryLogger().logger, signals, (code) => exits.push(code));
    await new Promise((r) => setTimeout(r, 1300));
    signals.emit("SIGINT", "SIGINT");
    signals.emit("SIGINT", "SIGINT");
    expect(exits).toEqual([130]);
    await done;
  });
});
