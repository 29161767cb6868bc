/**
 * "Run now" over real HTTP on SQLite and PostgreSQL: an approver runs a job of a connector no
 * agent runs on the server itself (export → prepare → synchronize, recorded in the job
 * history); a job whose connector an agent runs is refused (409 JOB_REMOTE), so is a viewer
 * (403) and an unknown job (404). The job history pages by key (`before`: the last run's id).
 */
import { afterAll, describe, expect, it } from "vitest";
import type { JobInstance } from "../../src/protocol/api.js";
import { testDatabases } from "../store/dialects.js";
import { AS_APPROVER, AS_VIEWER, withAdmins } from "./admins.js";
import {
  AGENT_AD,
  AS_AD,
  Api,
  cleanedAfterEach,
  expectRefusal,
  JOB_RUN,
  makeEnv,
  serve,
  writeHr,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("running a job from the console on $dialect", (db) => {
  const { envs, servers } = cleanedAfterEach();

  it("runs a job of a connector no agent runs, and refuses the others", async () => {
    const base = await makeEnv(db.url(), { thresholdsOff: true });
    envs.push(base);
    // Only AD has an agent: HR's jobs run on the server.
    const config = await withAdmins(base, {
      agents: {
        [AGENT_AD.id]: { secretHash: base.config.server.agents[AGENT_AD.id]?.secretHash, connectors: ["AD"] },
      },
    });
    const env = { ...base, config };
    writeHr(env, 300);
    const server = await serve(config);
    servers.push(server);
    const approver = new Api(server.url, AS_APPROVER);

    const remote = expectRefusal(
      await approver.request("POST", "/api/v1/jobs/AD_daily/run"),
      409,
      "JOB_REMOTE",
    );
    expect(remote.message).toContain('agent "agent-ad"');
    expectRefusal(await approver.request("POST", "/api/v1/jobs/nope/run"), 404, "JOB_NOT_FOUND");
    const viewer = expectRefusal(
      await approver.as(AS_VIEWER).request("POST", "/api/v1/jobs/HR_daily/run"),
      403,
      "FORBIDDEN",
    );
    expect(viewer.message).toContain("approver role");

    const answer = await approver.request<{ job: string; state: string }>(
      "POST",
      "/api/v1/jobs/HR_daily/run",
    );
    expect([200, 202], answer.text).toContain(answer.status);
    expect(answer.body.job).toBe("HR_daily");
    let run: JobInstance | undefined;
    for (let i = 0; i < 200 && run === undefined; i++) {
      const history = await approver.request<JobInstance[]>("GET", "/api/v1/job-instances?job=HR_daily");
      run = history.body[0];
      if (run === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(run).toMatchObject({
      job: "HR_daily",
      connector: "HR",
      outcome: "succeeded",
      ranMode: "complete",
    });
    const [hr] = await server.store.batches.list({ connector: "HR", limit: 1 });
    expect(hr?.state).toBe("applied");
    expect(await server.store.resources.countByEntityType("HR")).toEqual(new Map([["Person", 300]]));
  });

  it("pages the job history by key", async () => {
    const env = await makeEnv(db.url());
    envs.push(env);
    const server = await serve(await withAdmins(env));
    servers.push(server);
    const ad = new Api(server.url, AS_AD);
    for (const n of [1, 2, 3]) {
      const recorded = await ad.request("POST", "/api/v1/job-instances", {
        json: { ...JOB_RUN, id: `AD_daily-${n}`, job: "AD_daily", connector: "AD" },
      });
      expect(recorded.status, recorded.text).toBe(201);
    }
    const viewer = ad.as(AS_VIEWER);
    const first = await viewer.request<JobInstance[]>("GET", "/api/v1/job-instances?limit=2");
    expect(first.body.map((r) => r.id)).toEqual(["AD_daily-3", "AD_daily-2"]);
    const second = await viewer.request<JobInstance[]>(
      "GET",
      "/api/v1/job-instances?limit=2&before=AD_daily-2",
    );
    expect(second.body.map((r) => r.id)).toEqual(["AD_daily-1"]);
  });
});
