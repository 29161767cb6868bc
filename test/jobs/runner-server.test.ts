/**
 * Jobs through a server (the test peer): export → prepare (notified first) → upload and seal →
 * wait for the synchronization; the fallbacks of a drifted incremental, the wait behind a
 * blocked batch, the abandon of a notified batch, and the instance posted to the server.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { transferPath } from "../../src/agent/transfer.js";
import type { Config } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load.js";
import { SyncupError } from "../../src/errors.js";
import { runJob } from "../../src/jobs/runner.js";
import { readPreviousManifest } from "../../src/prepare/previous.js";
import { AGENT_ENV, agentSection, memoryLogger, quickstartCopy } from "../agent/helpers.js";
import { TestPeer } from "../agent/peer.js";

const JOBS = `
  HR_complete: { connector: HR, mode: complete }
  HR_incremental: { connector: HR, mode: incremental }
  HR_prepare_only: { connector: HR, mode: complete, tasks: [export, prepare] }
  AD_complete: { connector: AD, mode: complete }
`;

let peer: TestPeer;
const dirs: string[] = [];
const { logger, lines } = memoryLogger();
beforeEach(async () => {
  peer = await TestPeer.start();
});
afterEach(() => peer.close());
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function setup(options: Parameters<typeof agentSection>[1] = {}): Promise<Config> {
  const copy = quickstartCopy(JOBS, agentSection(peer.url, options));
  dirs.push(copy.dir);
  return loadConfig(copy.configFile, AGENT_ENV);
}

const run = (config: Config, job: string, signal?: AbortSignal) =>
  runJob(config, job, { logger, env: AGENT_ENV, pollIntervalMs: 20, ...(signal ? { signal } : {}) });

describe("runJob through the server", () => {
  let config: Config;

  it("sends a complete batch, waits for it to be applied, and posts the instance", async () => {
    config = await setup();
    const { instance, error } = await run(config, "HR_complete");
    expect(error).toBeUndefined();
    expect(instance).toMatchObject({
      agent: "agent1",
      ranMode: "complete",
      outcome: "succeeded",
      message: null,
    });
    expect(instance.tasks.map((t) => [t.task, t.outcome])).toEqual([
      ["export", "succeeded"],
      ["prepare", "succeeded"],
      ["upload", "succeeded"],
      ["synchronize", "succeeded"],
    ]);
    const batch = peer.batches.get(instance.batchId!)!;
    expect(batch.state).toBe("applied");
    expect([...batch.files.keys()].sort()).toEqual([
      "Person.sorted.csv",
      "Person_Manager.sorted.csv",
      "prepare.json",
    ]);
    expect(instance.tasks[2]?.counts).toMatchObject({ files: 3, uploaded: 3 });
    expect(instance.tasks[3]?.counts).toMatchObject({ resourcesInserted: batch.counts.resourcesInserted });
    expect(peer.instances).toEqual([instance]);
    expect((await readPreviousManifest(config, "HR"))?.batch).toBe(instance.batchId);
    expect(existsSync(transferPath(config, "HR"))).toBe(false);
    // the notification came after the export and before the prepare
    const notifyAt = peer.batches.get(instance.batchId!)!.createdAt;
    expect(notifyAt >= instance.tasks[0]!.startedAt && notifyAt >= instance.tasks[1]!.startedAt).toBe(true);
  });

  it("bases an incremental on the last batch and sends its deltas", async () => {
    config = await setup();
    const first = await run(config, "HR_complete");
    const { instance } = await run(config, "HR_incremental");
    expect(instance).toMatchObject({ ranMode: "incremental", outcome: "succeeded" });
    const batch = peer.batches.get(instance.batchId!)!;
    expect(batch.baseBatch).toBe(first.instance.batchId);
    expect([...batch.files.keys()].sort()).toEqual([
      "Person.sorted.delta",
      "Person_Manager.sorted.delta",
      "prepare.json",
    ]);
  });

  it("falls back to a complete run when the server refuses the incremental's base", async () => {
    config = await setup();
    await run(config, "HR_complete");
    peer.lastAccepted.set("HR", "a-batch-restored-from-backup");
    const { instance } = await run(config, "HR_incremental");
    expect(instance).toMatchObject({ mode: "incremental", ranMode: "complete", outcome: "succeeded" });
    expect(instance.message).toContain("a-batch-restored-from-backup");
    expect(peer.batches.get(instance.batchId!)?.mode).toBe("complete");
    expect([...peer.batches.values()].filter((b) => b.state === "notified")).toEqual([]);
    expect(lines.some((l) => l.msg.includes("ran a complete synchronization instead"))).toBe(true);
  });

  it("abandons the notified batch when prepare finds previous/ tampered with, then runs a complete", async () => {
    config = await setup();
    await run(config, "HR_complete");
    const prev = join(config.workDir, "HR", "previous", "Person.sorted.csv");
    writeFileSync(prev, readFileSync(prev, "utf8").replace(/\n[^\n]*\n$/, "\n"));
    const { instance } = await run(config, "HR_incremental");
    expect(instance).toMatchObject({ ranMode: "complete", outcome: "succeeded" });
    const incrementals = [...peer.batches.values()].filter((b) => b.mode === "incremental");
    expect(incrementals.map((b) => b.state)).toEqual(["cancelled"]);
    expect(instance.tasks.map((t) => [t.task, t.outcome])).toEqual([
      ["export", "succeeded"],
      ["prepare", "failed"],
      ["export", "succeeded"],
      ["prepare", "succeeded"],
      ["upload", "succeeded"],
      ["synchronize", "succeeded"],
    ]);
  });

  it('fails with the refusal when agent.onDrift is "stop"', async () => {
    config = await setup({ onDrift: "stop" });
    await run(config, "HR_complete");
    peer.lastAccepted.set("HR", "elsewhere");
    const { instance, error } = await run(config, "HR_incremental");
    expect(instance).toMatchObject({ ranMode: "incremental", outcome: "failed" });
    expect((error as SyncupError).code).toBe("BASE_MISMATCH");
    expect(instance.message).toContain('agent.onDrift is "stop"');
  });

  it("waits, preparing nothing, while the connector has a blocked batch", async () => {
    config = await setup();
    await run(config, "HR_complete");
    peer.blocked.set("HR", "b-blocked");
    const before = peer.batches.size;
    const { instance } = await run(config, "HR_incremental");
    expect(instance.outcome).toBe("waiting");
    expect(instance.message).toContain("b-blocked");
    expect(instance.tasks.every((t) => t.outcome === "skipped")).toBe(true);
    expect(peer.batches.size).toBe(before);
  });

  it("reports a batch the server blocked", async () => {
    config = await setup();
    peer.onSeal = (batch) => {
      batch.state = "blocked";
      batch.counts = { ...batch.counts, resourcesDeleted: 150 };
    };
    const { instance } = await run(config, "HR_complete");
    expect(instance.outcome).toBe("blocked");
    expect(instance.message).toContain("BLOCKED");
    expect(instance.tasks[3]?.counts).toMatchObject({ resourcesDeleted: 150 });
    // the seal was confirmed: previous/ advanced even though the batch waits for an admin
    expect((await readPreviousManifest(config, "HR"))?.batch).toBe(instance.batchId);
  });

  it("reports a batch still queued on the server as waiting once requestTimeoutMs passed", async () => {
    config = await setup();
    peer.onSeal = () => undefined;
    const short = { ...config, agent: { ...config.agent!, requestTimeoutMs: 300 } };
    const { instance } = await run(short, "HR_complete");
    expect(instance.outcome).toBe("waiting");
    expect(instance.message).toContain("still sealed");
  });

  it("does not notify when the job stops after prepare", async () => {
    config = await setup();
    const { instance } = await run(config, "HR_prepare_only");
    expect(instance.outcome).toBe("succeeded");
    expect(peer.batches.size).toBe(0);
    expect(peer.instances).toHaveLength(1);
  });

  it("abandons the notified batch when stopped before the upload", async () => {
    config = await setup();
    const controller = new AbortController();
    peer.onNotify = () => controller.abort();
    const { instance } = await run(config, "HR_complete", controller.signal);
    expect(instance.outcome).toBe("failed");
    expect(instance.message).toContain("stopped before the upload task");
    expect(instance.tasks.map((t) => [t.task, t.outcome])).toEqual([
      ["export", "succeeded"],
      ["prepare", "succeeded"],
      ["upload", "skipped"],
      ["synchronize", "skipped"],
    ]);
    expect([...peer.batches.values()].map((b) => b.state)).toEqual(["cancelled"]);
    expect(existsSync(transferPath(config, "HR"))).toBe(false);
    expect(await readPreviousManifest(config, "HR")).toBeUndefined();
  });

  it("leaves an upload the server could not take for the next job, which resumes it", async () => {
    config = await setup();
    const cut = (req: { method?: string | undefined; socket: { destroy(): void } }) => {
      if (req.method !== "PUT") return false;
      req.socket.destroy();
      return true;
    };
    peer.fault = cut;
    const failed = await run(config, "HR_complete");
    expect(failed.instance.outcome).toBe("failed");
    expect((failed.error as SyncupError).code).toBe("SERVER_UNREACHABLE");
    expect(existsSync(transferPath(config, "HR"))).toBe(true);
    const pending = [...peer.batches.values()][0]!;
    expect(pending.state).toBe("notified");

    peer.fault = undefined;
    const next = await run(config, "HR_incremental");
    expect(next.instance.tasks[0]).toMatchObject({ task: "upload", outcome: "succeeded" });
    expect(next.instance.tasks[0]?.message).toContain(`resumed batch ${pending.id}`);
    expect(pending.state).toBe("applied");
    // the incremental is based on the resumed batch
    expect(peer.batches.get(next.instance.batchId!)?.baseBatch).toBe(pending.id);
    expect(next.instance).toMatchObject({ ranMode: "incremental", outcome: "succeeded" });
  });

  it("refuses a job of a connector the agent does not run", async () => {
    config = await setup({ connectors: ["HR"] });
    const error = await run(config, "AD_complete").catch((e: unknown) => e);
    expect((error as SyncupError).code).toBe("JOB_NOT_FOUND");
  });
});
