/** The repository moves a batch only as the batch state machine allows, on both dialects. */
import { afterAll, describe, expect, it } from "vitest";
import { newBatchId } from "../../src/protocol/batch-states.js";
import { openStore } from "../../src/store/store.js";
import { testDatabases } from "./dialects.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("batch states on $dialect", (db) => {
  it("applies a staging batch once, and then moves it nowhere", async () => {
    const store = await openStore(db.url());
    try {
      const id = newBatchId();
      await store.batches.create({
        id,
        connector: "HR",
        mode: "complete",
        dryRun: false,
        forced: false,
        source: null,
        preparedAt: null,
        baseBatch: null,
      });
      expect((await store.batches.get(id))?.state).toBe("staging");
      expect(await store.batches.setState(id, "applied")).toBe(true);
      // Not allowed from applied: nothing changes.
      for (const state of ["blocked", "staging", "cancelled", "failed", "applied"] as const)
        expect(await store.batches.setState(id, state)).toBe(false);
      expect((await store.batches.get(id))?.state).toBe("applied");
      // A move the machine forbids is a programming error when named.
      await expect(store.batches.setState(id, "staging", {}, "applied")).rejects.toMatchObject({
        code: "INTERNAL",
      });
    } finally {
      await store.close();
    }
  });
});
