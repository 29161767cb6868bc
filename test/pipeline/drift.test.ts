/**
 * One drift policy for every entry point that runs a connector's Sync Up in this process
 * (`syncup run`, `syncup jobs run`), on both dialects: an incremental without a valid base
 * runs as a complete and says why; `auto` picks incremental when previous/ and the repository
 * agree; an incremental behind a blocked batch waits. (The agent's attempts through the
 * server share the same policy: test/jobs/runner-server.test.ts.)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { runJob } from "../../src/jobs/runner.js";
import { runConnector } from "../../src/pipeline/run-connector.js";
import { openStore } from "../../src/sync/index.js";
import { testDatabases } from "../store/dialects.js";
import { CONNECTOR, dataset, tempDir, testConfigYaml, writeExport } from "../sync/helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const JOBS = `
jobs:
  HR_incremental: { connector: HR, mode: incremental }
`;

describe.each(databases)("the drift policy on $dialect", (db) => {
  async function setUp(thresholds?: Record<string, number>) {
    const workDir = tempDir();
    const text = testConfigYaml(workDir, thresholds === undefined ? {} : { thresholds }, db.url()) + JOBS;
    writeFileSync(join(workDir, "syncup.yaml"), text);
    const config = parseConfig(text, { file: join(workDir, "syncup.yaml"), label: "syncup.yaml", env: {} });
    const store = await openStore(config.databaseUrl);
    await writeExport(workDir, dataset(30));
    const first = await runConnector(config, store, CONNECTOR, "auto");
    expect(first).toMatchObject({ mode: "initial", outcome: "applied" });
    const tamper = () => {
      const file = join(workDir, CONNECTOR, "previous", "User.sorted.csv");
      writeFileSync(file, `${readFileSync(file, "utf8")}zzz;z@example.com;Z;30;Y;01/01/2020\n`);
    };
    return { workDir, config, store, tamper };
  }

  it("syncup run: auto is incremental when previous/ and the repository agree; a drifted incremental runs as a complete", async () => {
    const { workDir, config, store, tamper } = await setUp();
    try {
      await writeExport(workDir, dataset(32));
      expect(await runConnector(config, store, CONNECTOR, "auto")).toMatchObject({
        mode: "incremental",
        outcome: "applied",
        note: null,
        sync: { resources: { inserted: 2 } },
      });
      tamper();
      await writeExport(workDir, dataset(33));
      const fellBack = await runConnector(config, store, CONNECTOR, "incremental");
      expect(fellBack).toMatchObject({
        requestedMode: "incremental",
        mode: "complete",
        outcome: "applied",
        sync: { resources: { inserted: 1, deleted: 0 } },
      });
      expect(fellBack.note).toMatch(/could not go on .*previous\/ was tampered with.*ran a complete/);
      // auto now sees a complete as the last batch, and previous/ accepted from it: incremental.
      expect((await runConnector(config, store, CONNECTOR, "auto")).mode).toBe("incremental");
    } finally {
      await store.close();
    }
  });

  it("syncup jobs run: the same fallback, recorded in the job's instance", async () => {
    const { workDir, config, store, tamper } = await setUp();
    try {
      tamper();
      await writeExport(workDir, dataset(31));
      const { instance, error } = await runJob(config, "HR_incremental", {
        logger: pino({ level: "silent" }),
        store,
      });
      expect(error).toBeUndefined();
      expect(instance).toMatchObject({ mode: "incremental", ranMode: "complete", outcome: "succeeded" });
      expect(instance.message).toMatch(/could not go on .*previous\/ was tampered with.*ran a complete/);
    } finally {
      await store.close();
    }
  });

  it("an incremental behind a blocked batch waits, in syncup run and in a job alike", async () => {
    const { workDir, config, store } = await setUp({ MaximumDeletedLines: 2 });
    try {
      await writeExport(workDir, dataset(20));
      const blocked = await runConnector(config, store, CONNECTOR, "complete");
      expect(blocked.outcome).toBe("blocked");
      const waiting = await runConnector(config, store, CONNECTOR, "incremental");
      expect(waiting).toMatchObject({ outcome: "waiting", sync: null, export: null });
      expect(waiting.note).toContain(`has a blocked batch ${blocked.sync!.batchId}`);
      const { instance } = await runJob(config, "HR_incremental", {
        logger: pino({ level: "silent" }),
        store,
      });
      expect(instance.outcome).toBe("waiting");
    } finally {
      await store.close();
    }
  });
});
