/**
 * Migration 8 rewrites a repository made by the schema before it: the resources' and links'
 * references to batches become the batches' sequence numbers, and the store reads them back
 * as the batches' ids.
 */
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/store/migrate.js";
import { MIGRATIONS } from "../../src/store/migrations/index.js";
import { POSTGRES_DDL } from "../../src/store/postgres/ddl.js";
import { SQLITE_DDL } from "../../src/store/sqlite/ddl.js";
import { openStore } from "../../src/store/store.js";
import { driverFor, testDatabases } from "./dialects.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("migration 8 (batch references as sequence numbers), $dialect", (db) => {
  it("rewrites the resources and links of a repository made by migrations 1 to 7", async () => {
    const url = db.url();
    const driver = await driverFor(url);
    const ddl = db.dialect === "postgres" ? POSTGRES_DDL : SQLITE_DDL;
    try {
      await migrate(
        driver,
        ddl,
        MIGRATIONS.filter((m) => m.id <= 7),
      );
      for (const id of ["first-batch", "second-batch"]) {
        await driver.run(
          "INSERT INTO UR_Batches (id, connector, mode, state, created_at) VALUES (?, 'C', 'complete', 'applied', 'now')",
          [id],
        );
      }
      const resource = `INSERT INTO UR_Resources (connector, entity_type, pk, uk1, hash, properties, i128, batch_id, created_batch_id)
                        VALUES ('C', 'T', ?, ?, 'h', ?, ?, ?, ?)`;
      await driver.run(resource, ["a", "ua", '{"n":"a"}', null, "first-batch", "first-batch"]);
      await driver.run(resource, ["b", null, '{"n":"b"}', null, "second-batch", "first-batch"]);
      // A batch no longer recorded (its row pruned): the reference becomes 0.
      await driver.run(resource, ["c", null, '{"n":"c"}', null, "gone", "gone"]);
      const ids = await driver.all<{ id: number; pk: string }>("SELECT id, pk FROM UR_Resources ORDER BY pk");
      const idOf = (pk: string) => Number(ids.find((r) => r.pk === pk)!.id);
      await driver.run("UPDATE UR_Resources SET i128 = ? WHERE pk = 'b'", [idOf("a")]);
      await driver.run(
        `INSERT INTO UR_ResourceLinks (connector, association, key1, key2, resource1, resource2, batch_id)
         VALUES ('C', 'A', 'a', 'b', ?, ?, 'second-batch')`,
        [idOf("a"), idOf("b")],
      );
    } finally {
      await driver.close();
    }

    // Opening the store applies migration 8.
    const store = await openStore(url);
    try {
      const held = await store.resources.list({ connector: "C", limit: 10, offset: 0 });
      expect(held.map((r) => [r.pk, r.uk1, r.properties, r.batchId, r.createdBatchId, r.mono])).toEqual([
        ["a", "ua", '{"n":"a"}', "first-batch", "first-batch", {}],
        ["b", null, '{"n":"b"}', "second-batch", "first-batch", { 128: held[0]!.id }],
        ["c", null, '{"n":"c"}', "", "", {}],
      ]);
      const links = await store.links.linksOf(held[0]!.id);
      expect(links.map((l) => [l.association, l.key1, l.key2])).toEqual([["A", "a", "b"]]);
    } finally {
      await store.close();
    }
    const after = await driverFor(url);
    try {
      const seqs = await after.all<{ pk: string; batch_seq: number; created_batch_seq: number }>(
        "SELECT pk, batch_seq, created_batch_seq FROM UR_Resources ORDER BY pk",
      );
      const seqOf = async (id: string) =>
        Number((await after.get<{ seq: number }>("SELECT seq FROM UR_Batches WHERE id = ?", [id]))!.seq);
      const [first, second] = [await seqOf("first-batch"), await seqOf("second-batch")];
      expect(seqs.map((r) => [r.pk, Number(r.batch_seq), Number(r.created_batch_seq)])).toEqual([
        ["a", first, first],
        ["b", second, first],
        ["c", 0, 0],
      ]);
      const link = await after.get<{ batch_seq: number }>("SELECT batch_seq FROM UR_ResourceLinks");
      expect(Number(link!.batch_seq)).toBe(second);
      // The 36-character ids are gone from the rows.
      for (const table of ["UR_Resources", "UR_ResourceLinks"]) {
        const row = await after.get<Record<string, unknown>>(`SELECT * FROM ${table} LIMIT 1`);
        expect(Object.keys(row!)).not.toContain("batch_id");
        expect(Object.keys(row!)).not.toContain("created_batch_id");
      }
    } finally {
      await after.close();
    }
  });
});
