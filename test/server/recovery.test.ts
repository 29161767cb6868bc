/**
 * A server starting on a repository where a batch is `staging` puts it back in the queue only
 * when nobody synchronizes it: another process holding the connector's lock is left alone.
 */
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { testDatabases } from "../store/dialects.js";
import { AS_HR, Api, makeEnv, prepare, serve, writeHr } from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("recovery of interrupted batches on $dialect", (db) => {
  it("requeues a batch left staging, unless another process is synchronizing its connector", async () => {
    const env = await makeEnv(db.url(), { thresholdsOff: true });
    const other = await openStore(env.databaseUrl);
    try {
      writeHr(env, 300);
      // A batch sealed by the agent and claimed by a synchronization that is (or was) under way.
      const first = await serve(env.config);
      const hr = new Api(first.url, null).as(AS_HR);
      await first.worker.stop();
      const batch = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
      await first.close();
      expect(await other.batches.setState(batch.id, "staging", {}, "sealed")).toBe(true);

      // Another process holds the connector's lock: its batch is left as it is.
      const release = await other.lockConnector("HR");
      const busy = await serve(env.config);
      await busy.worker.idle();
      expect((await other.batches.get(batch.id))?.state).toBe("staging");
      await busy.close();
      await release();

      // Nobody holds it: the batch was interrupted, goes back to the queue and is applied once.
      const free = await serve(env.config);
      const applied = await new Api(free.url, null).as(AS_HR).waitFor(batch.id);
      expect(applied).toMatchObject({ state: "applied", error: null });
      expect(applied.counts.resourcesInserted).toBe(300);
      await free.close();
    } finally {
      await other.close();
      env.cleanup();
    }
  }, 60_000);
});
