/**
 * Agents and a server as real processes on loopback, on SQLite and PostgreSQL: two agents
 * with different connectors; a proxy cutting connections mid-upload; the server killed
 * (SIGKILL) during an upload and during a synchronization; a tampered previous/; a repository
 * restored from an earlier copy; refused requests. After each fault, the repository holds
 * exactly what a single clean load of the same data gives.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobInstance } from "../../src/protocol/api.js";
import { openStore } from "../../src/store/store.js";
import type { BatchRow } from "../../src/store/types.js";
import { testDatabases } from "../store/dialects.js";
import { AGENT_AD, AGENT_HR, AS_AD, AS_HR, makeEnv, writeHr, type TestEnv } from "../server/helpers.js";
import { freePort, Proxy, repositoryContent, ServerProcess, sleep, syncup, waitFor } from "./harness.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const JOBS = (connector: string) => ({
  [`${connector}_initial`]: { connector, mode: "initial" },
  [`${connector}_complete`]: { connector, mode: "complete" },
  [`${connector}_incremental`]: { connector, mode: "incremental" },
});

describe.each(databases)("agents and a server as processes ($dialect)", (db) => {
  let env: TestEnv;
  let url: string;
  let server: ServerProcess;
  let proxy: Proxy;
  let serverPort: number;
  let hrConfig: string;
  let adConfig: string;
  let serverConfig: string;
  let refs = 0;

  beforeAll(async () => {
    url = db.url();
    env = await makeEnv(url, { thresholdsOff: true });
    serverPort = await freePort();
    proxy = new Proxy(await freePort(), serverPort);
    await proxy.start();
    const raw = parse(readFileSync(env.configPath, "utf8")) as Record<string, unknown>;
    serverConfig = env.configPath;
    const agentConfig = (agent: typeof AGENT_HR | typeof AGENT_AD, port: number) => {
      const path = join(env.dir, `${agent.id}.yaml`);
      const { server: _server, ...rest } = raw;
      writeFileSync(
        path,
        stringify({
          ...rest,
          workDir: `./${agent.id}-work`,
          jobs: JOBS(agent.connectors[0]),
          agent: {
            id: agent.id,
            server: `http://127.0.0.1:${port}`,
            secretEnv: "AGENT_SECRET",
            retries: 10,
            requestTimeoutSeconds: 30,
          },
        }),
      );
      return path;
    };
    hrConfig = agentConfig(AGENT_HR, proxy.port);
    adConfig = agentConfig(AGENT_AD, serverPort);
    server = await startServer();
  }, 60_000);

  afterAll(async () => {
    await server.kill();
    await proxy.close();
    env.cleanup();
  });

  function startServer(extra: Record<string, string> = {}): Promise<ServerProcess> {
    return ServerProcess.start({
      cwd: env.dir,
      config: serverConfig,
      port: serverPort,
      env: { SYNCUP_DATABASE_URL: url, SYNCUP_LOG_LEVEL: "warn", ...extra },
    });
  }

  async function job(
    config: string,
    name: string,
    secret: string,
  ): Promise<{ code: number; instance: JobInstance; stderr: string }> {
    const done = await syncup(["jobs", "run", name, "--config", config, "--json"], {
      cwd: env.dir,
      env: { AGENT_SECRET: secret },
    });
    let instance: JobInstance;
    try {
      instance = JSON.parse(done.stdout) as JobInstance;
    } catch {
      throw new Error(
        `jobs run ${name} printed no instance (exit ${done.code}):\n${done.stdout}\n${done.stderr}`,
      );
    }
    return { code: done.code, instance, stderr: done.stderr };
  }
  const hrJob = (name: string) => job(hrConfig, name, AGENT_HR.secret);
  const adJob = (name: string) => job(adConfig, name, AGENT_AD.secret);

  /** What one clean initial load of the current source files gives, in a database of its own. */
  async function reference(connector: string) {
    refs++;
    const raw = parse(readFileSync(env.configPath, "utf8")) as Record<string, unknown>;
    const refUrl = `sqlite:${join(env.dir, `reference-${refs}.db`)}`;
    const path = join(env.dir, `reference-${refs}.yaml`);
    writeFileSync(path, stringify({ ...raw, workDir: `./reference-${refs}`, database: { url: refUrl } }));
    const done = await syncup(
      ["run", "--config", path, "--connector", connector, "--mode", "initial", "--no-progress"],
      {
        cwd: env.dir,
      },
    );
    expect(done.code, done.stderr).toBe(0);
    return repositoryContent(refUrl, connector);
  }

  async function batches(connector: string): Promise<BatchRow[]> {
    const store = await openStore(url);
    try {
      return await store.batches.list({ connector, limit: 100 });
    } finally {
      await store.close();
    }
  }

  async function expectFaithful(connector: string): Promise<void> {
    expect(await repositoryContent(url, connector)).toEqual(await reference(connector));
    const states = (await batches(connector)).map((b) => b.state);
    expect(states.filter((s) => s === "staging" || s === "sealed" || s === "notified")).toEqual([]);
  }

  it("loads two connectors from two agents at once", async () => {
    const [hr, ad] = await Promise.all([hrJob("HR_initial"), adJob("AD_initial")]);
    expect(hr.code, hr.stderr).toBe(0);
    expect(ad.code, ad.stderr).toBe(0);
    expect(hr.instance).toMatchObject({ outcome: "succeeded", ranMode: "initial", agent: AGENT_HR.id });
    expect(ad.instance.outcome).toBe("succeeded");
    await expectFaithful("HR");
    await expectFaithful("AD");
  }, 60_000);

  it("refuses requests without a secret, with another agent's secret, or with ../ in a file name", async () => {
    const base = `http://127.0.0.1:${serverPort}/api/v1`;
    const post = (auth: string | null, body: unknown) =>
      fetch(`${base}/batches`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth === null ? {} : { authorization: auth }) },
        body: JSON.stringify(body),
      });
    const notify = { connector: "HR", mode: "complete", baseBatch: null };
    expect((await post(null, notify)).status).toBe(401);
    const foreign = await post(AS_AD, notify);
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { code: string }).code).toBe("FORBIDDEN");
    const own = await post(AS_HR, notify);
    expect(own.status).toBe(201);
    const { id } = (await own.json()) as { id: string };
    const evil = await fetch(`${base}/batches/${id}/files/..%2F..%2Fevil.csv`, {
      method: "PUT",
      headers: {
        authorization: AS_HR,
        "content-type": "application/octet-stream",
        "x-content-sha256": "0".repeat(64),
      },
      body: "x",
    });
    expect(evil.status).toBe(400);
    expect(((await evil.json()) as { code: string }).code).toBe("FILE_NAME_INVALID");
    const abandon = await fetch(`${base}/batches/${id}`, {
      method: "DELETE",
      headers: { authorization: AS_HR },
    });
    expect(abandon.status).toBe(200);
  });

  it("gets a batch through a proxy that cuts connections mid-upload, applied once", async () => {
    writeHr(env, 295, 2);
    proxy.cut(3, 4000);
    const hr = await hrJob("HR_complete");
    expect(hr.code, hr.stderr).toBe(0);
    expect(proxy.cutsDone).toBe(3);
    expect(hr.instance).toMatchObject({ outcome: "succeeded", ranMode: "complete" });
    const applied = (await batches("HR")).filter((b) => b.id === hr.instance.batchId);
    expect(applied.map((b) => b.state)).toEqual(["applied"]);
    expect(applied[0]).toMatchObject({ resourcesDeleted: 5, resourcesUpdated: 2 });
    await expectFaithful("HR");
  }, 90_000);

  it("resumes an upload after the server was killed and restarted", async () => {
    writeHr(env, 300, 4);
    proxy.throttle(6000);
    const running = hrJob("HR_complete");
    const notified = await waitFor("an HR batch being uploaded", async () => {
      const head = (await batches("HR"))[0];
      return head?.state === "notified" && head.mode === "complete" ? head : undefined;
    });
    await sleep(1000);
    await server.kill();
    await sleep(1000);
    proxy.throttle(0);
    server = await startServer();
    const hr = await running;
    expect(hr.code, hr.stderr).toBe(0);
    expect(hr.instance.batchId).toBe(notified.id);
    const rows = (await batches("HR")).filter((b) => b.id === notified.id);
    expect(rows.map((b) => b.state)).toEqual(["applied"]);
    await expectFaithful("HR");
  }, 90_000);

  it("applies a batch whole after the server was killed in the middle of its synchronization", async () => {
    const before = await repositoryContent(url, "HR");
    await server.stop();
    server = await startServer({ SYNCUP_TEST_APPLY_PAUSE_MS: "1500" });
    writeHr(env, 290, 6);
    const running = hrJob("HR_complete");
    const staging = await waitFor("an HR batch being synchronized", async () => {
      const head = (await batches("HR"))[0];
      return head?.state === "staging" ? head : undefined;
    });
    // Inside the apply transaction, the resources written, paused before the links.
    await waitFor("the apply's links step", () =>
      Promise.resolve(server.log.includes('before the apply step \\"links\\"') ? true : undefined),
    );
    // The server answers its health check while the batch holds the database.
    const health = await fetch(`http://127.0.0.1:${serverPort}/health`, {
      signal: AbortSignal.timeout(1000),
    });
    expect(health.status).toBe(200);
    await server.kill();
    // Killed inside the apply transaction: nothing of the batch is in the repository.
    expect(await repositoryContent(url, "HR")).toEqual(before);
    server = await startServer();
    const hr = await running;
    expect(hr.code, hr.stderr).toBe(0);
    expect(hr.instance.batchId).toBe(staging.id);
    const rows = (await batches("HR")).filter((b) => b.id === staging.id);
    expect(rows.map((b) => [b.state, b.resourcesDeleted])).toEqual([["applied", 10]]);
    await expectFaithful("HR");
  }, 90_000);

  it("finishes the batch under way when the server is stopped with SIGTERM", async () => {
    await server.stop();
    server = await startServer({ SYNCUP_TEST_APPLY_PAUSE_MS: "1000" });
    writeHr(env, 300, 2);
    const running = hrJob("HR_complete");
    const staging = await waitFor("an HR batch being synchronized", async () => {
      const head = (await batches("HR"))[0];
      return head?.state === "staging" ? head : undefined;
    });
    await sleep(1500);
    expect(await server.stop()).toBe(0);
    const rows = (await batches("HR")).filter((b) => b.id === staging.id);
    expect(rows.map((b) => b.state)).toEqual(["applied"]);
    server = await startServer();
    const hr = await running;
    expect(hr.code, hr.stderr).toBe(0);
    expect(hr.instance).toMatchObject({ outcome: "succeeded", batchId: staging.id });
    await expectFaithful("HR");
  }, 90_000);

  it("runs a complete instead of an incremental when previous/ was tampered with", async () => {
    const previous = join(env.dir, `${AGENT_HR.id}-work`, "HR", "previous", "Person.sorted.csv");
    writeFileSync(previous, readFileSync(previous, "utf8").replace("00002", "00999"));
    writeHr(env, 297, 1);
    const hr = await hrJob("HR_incremental");
    expect(hr.code, hr.stderr).toBe(0);
    expect(hr.instance).toMatchObject({ outcome: "succeeded", mode: "incremental", ranMode: "complete" });
    expect(hr.instance.message).toContain("previous");
    await expectFaithful("HR");

    // previous/ is sound again: the next incremental runs as one.
    writeHr(env, 299, 1);
    const next = await hrJob("HR_incremental");
    expect(next.instance).toMatchObject({ outcome: "succeeded", ranMode: "incremental" });
    await expectFaithful("HR");
  }, 90_000);

  it("refuses an incremental after the repository was restored from an earlier copy, then runs a complete", async () => {
    await server.stop();
    const restore = snapshotDatabase();
    server = await startServer();
    writeHr(env, 296, 3);
    const lost = await hrJob("HR_incremental");
    expect(lost.instance).toMatchObject({ outcome: "succeeded", ranMode: "incremental" });

    await server.stop();
    await restore();
    server = await startServer();
    expect((await batches("HR")).some((b) => b.id === lost.instance.batchId)).toBe(false);
    writeHr(env, 294, 5);
    const hr = await hrJob("HR_incremental");
    expect(hr.code, hr.stderr).toBe(0);
    expect(hr.instance).toMatchObject({ outcome: "succeeded", mode: "incremental", ranMode: "complete" });
    expect(hr.instance.message).toMatch(/BASE_MISMATCH|restored|has no batch/);
    await expectFaithful("HR");
    await expectFaithful("AD");
  }, 90_000);

  /** Copies the stopped server's database; the function returned puts the copy back. */
  function snapshotDatabase(): () => Promise<void> {
    if (url.startsWith("sqlite:")) {
      const file = url.slice("sqlite:".length);
      copyFileSync(file, `${file}.copy`);
      return () => {
        rmSync(`${file}-wal`, { force: true });
        rmSync(`${file}-shm`, { force: true });
        copyFileSync(`${file}.copy`, file);
        return Promise.resolve();
      };
    }
    const parsed = new URL(url);
    const schema = parsed.searchParams.get("schema") ?? "public";
    parsed.search = "";
    const dump = join(env.dir, "repository.dump");
    const pgDump = spawnSync("pg_dump", ["-Fc", "-n", schema, "-f", dump, parsed.toString()], {
      encoding: "utf8",
    });
    expect(pgDump.status, pgDump.stderr).toBe(0);
    return async () => {
      const { default: pg } = await import("pg");
      const client = new pg.Client({ connectionString: parsed.toString() });
      await client.connect();
      await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await client.end();
      const restored = spawnSync("pg_restore", ["-d", parsed.toString(), dump], { encoding: "utf8" });
      expect(restored.status, restored.stderr).toBe(0);
    };
  }
});
