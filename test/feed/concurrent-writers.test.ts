/**
 * Two applies writing the feed at once on PostgreSQL (two connections, two connectors): the
 * second waits for the first's commit on the feed's counter, so the sequence has no gap and
 * is committed in order; a reader sees neither's events before its commit.
 */
import { afterAll, expect, it } from "vitest";
import { driverFor, testDatabases } from "../store/dialects.js";
import { openStore } from "../../src/store/store.js";

const postgres = testDatabases().find((d) => d.dialect === "postgres")!;
afterAll(() => postgres.cleanup());

it("serializes the feed's writers on PostgreSQL: no gap, committed in sequence order", async () => {
  const url = postgres.url();
  const [a, b, reader] = [await openStore(url), await openStore(url), await openStore(url)];
  const driver = await driverFor(url);
  try {
    for (const [batch, n] of [
      ["batch-a", 30],
      ["batch-b", 20],
    ] as const) {
      for (let i = 0; i < n; i++) {
        await driver.run(
          "INSERT INTO UR_ResourcesChanges (batch_id, operation, entity_type, pk, properties) VALUES (?, 'insert', 'User', ?, '{}')",
          [batch, `${batch}-${i}`],
        );
      }
    }
    const meta = (batchId: string, connector: string) => ({
      batchId,
      connector,
      mode: "complete",
      decision: JSON.stringify({ kind: "automatic", by: [] }),
      at: new Date().toISOString(),
    });
    let release = () => {};
    const held = new Promise<void>((ok) => (release = ok));
    const first = a.transaction(async () => {
      await a.feed.recordBatch(meta("batch-a", "AD"));
      await held;
    });
    await new Promise((r) => setTimeout(r, 200));
    let secondDone = false;
    const second = b
      .transaction(() => b.feed.recordBatch(meta("batch-b", "HR")))
      .then(() => {
        secondDone = true;
      });
    await new Promise((r) => setTimeout(r, 500));
    expect(secondDone).toBe(false);
    expect(await reader.feed.page({ after: 0, limit: 100 })).toEqual([]);
    release();
    await first;
    await second;
    const rows = await reader.feed.page({ after: 0, limit: 100 });
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(rows.slice(0, 30).every((r) => r.batchId === "batch-a")).toBe(true);
    expect(rows.slice(30).every((r) => r.batchId === "batch-b")).toBe(true);
    expect(await reader.feed.bounds()).toEqual({ last: 50, prunedThrough: 0 });
  } finally {
    await driver.close();
    for (const s of [a, b, reader]) await s.close();
  }
});
