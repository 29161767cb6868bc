/** One synchronization of a connector at a time, across connections and processes, on both databases. */
import { afterAll, describe, expect, it } from "vitest";
import { openStore, synchronize } from "../../src/sync/index.js";
import { testDatabases } from "../store/dialects.js";
import { CONNECTOR, dataset, tempDir, testConfig, writeComplete } from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("the connector's synchronization lock on $dialect", (db) => {
  it("refuses a second synchronization of a connector while one runs, and not after", async () => {
    const url = db.url();
    const first = await openStore(url);
    const second = await openStore(url);
    try {
      const workDir = tempDir();
      await writeComplete(workDir, dataset(5), "initial");
      const config = testConfig(workDir);
      const release = await first.lockConnector(CONNECTOR);
      const refused = synchronize({ store: second, config, connector: CONNECTOR, mode: "initial" });
      await expect(refused).rejects.toMatchObject({ code: "CONNECTOR_BUSY" });
      await expect(refused).rejects.toThrow(/being synchronized by/);
      expect(await second.batches.list({ limit: 10 })).toEqual([]);
      // Another connector is not held up.
      const other = await second.lockConnector("AD");
      await other();
      await release();
      const report = await synchronize({ store: second, config, connector: CONNECTOR, mode: "initial" });
      expect(report.state).toBe("applied");
    } finally {
      await first.close();
      await second.close();
    }
  });
});
