import { afterAll, describe, expect, it } from "vitest";
import { compareOrdinal } from "../../src/core/ordinal.js";
import { deferIndexes } from "../../src/store/deferred-indexes.js";
import { migrate } from "../../src/store/migrate.js";
import { MIGRATIONS } from "../../src/store/migrations/index.js";
import { POSTGRES_DDL } from "../../src/store/postgres/ddl.js";
import { SQLITE_DDL } from "../../src/store/sqlite/ddl.js";
import type { Driver } from "../../src/store/driver.js";
import { ResourceRepository } from "../../src/store/resources.js";
import { openStore } from "../../src/store/store.js";
import { driverFor, testDatabases } from "./dialects.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

async function* batches<T>(...items: T[][]): AsyncGenerator<T[]> {
  for (const batch of items) yield await Promise.resolve(batch);
}

const KEYS = [
  "a",
  "B",
  "b",
  "",
  " x",
  "a b",
  "a;b",
  'q"t',
  "é",
  "e\u0301",
  "z",
  "Ω",
  "\uff5e",
  "😀",
  "\u00a0",
  "ab",
];

describe.each(databases)("store on $dialect", (db) => {
  it("migrates a new database once and records each migration", async () => {
    const url = db.url();
    const store = await openStore(url);
    await store.close();
    const driver = await driverFor(url);
    try {
      expect(await migrate(driver, db.dialect === "sqlite" ? SQLITE_DDL : POSTGRES_DDL)).toEqual([]);
      const rows = await driver.all<{ id: number; name: string }>(
        "SELECT id, name FROM syncup_migrations ORDER BY id",
      );
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ id: m.id, name: m.name })));
      await driver.run("INSERT INTO syncup_migrations (id, name, applied_at) VALUES (999, 'future', 'now')");
    } finally {
      await driver.close();
    }
    await expect(openStore(url)).rejects.toMatchObject({ code: "DATABASE_SCHEMA_NEWER" });
  });

  it("orders key columns ordinally, as the prepared files are", async () => {
    const url = db.url();
    const s = await openStore(url);
    await s.close();
    const driver = await driverFor(url);
    try {
      await driver.copyRows(
        "UR_Resources",
        ["connector", "entity_type", "pk", "hash", "properties", "batch_seq", "created_batch_seq"],
        KEYS.map((k) => ["C", "T", k, "h", "{}", 1, 1]),
      );
      const pages: string[] = [];
      for await (const page of driver.stream<{ pk: string }>(
        "SELECT pk FROM UR_Resources WHERE connector = ? ORDER BY pk",
        ["C"],
        4,
      )) {
        expect(page.length).toBeLessThanOrEqual(4);
        pages.push(...page.map((r) => r.pk));
      }
      expect(pages).toEqual([...KEYS].sort(compareOrdinal));
    } finally {
      await driver.close();
    }
  });

  it("copies values with tabs, newlines, backslashes and nulls intact", async () => {
    const url = db.url();
    await (await openStore(url)).close();
    const driver = await driverFor(url);
    try {
      const nasty = ["tab\there", "line\nbreak\r\n", "back\\slash\\N", "\\N", "quote\"'", "ünï😀"];
      await driver.copyRows(
        "UR_Resources",
        ["connector", "entity_type", "pk", "uk1", "hash", "properties", "batch_seq", "created_batch_seq"],
        nasty.map((v, i) => ["C", "T", `k${i}`, i % 2 === 0 ? v : null, "h", JSON.stringify({ v }), 1, 1]),
      );
      // A row longer than a chunk of COPY's input.
      const long = `${"é😀x".repeat(30_000)}\t\\`;
      await driver.copyRows(
        "UR_Resources",
        ["connector", "entity_type", "pk", "hash", "properties", "batch_seq", "created_batch_seq"],
        [["C", "T", "long", "h", JSON.stringify({ v: long }), 1, 1]],
      );
      const rows = await driver.all<{ uk1: string | null; properties: string }>(
        "SELECT uk1, properties FROM UR_Resources WHERE pk <> 'long' ORDER BY pk",
      );
      expect(rows.map((r) => r.uk1)).toEqual(nasty.map((v, i) => (i % 2 === 0 ? v : null)));
      expect(rows.map((r) => (JSON.parse(r.properties) as { v: string }).v)).toEqual(nasty);
      const stored = await driver.get<{ properties: string }>(
        "SELECT properties FROM UR_Resources WHERE pk = 'long'",
      );
      expect((JSON.parse(stored!.properties) as { v: string }).v).toBe(long);
    } finally {
      await driver.close();
    }
  });

  it("streams values with tabs, newlines, backslashes, nulls and any parameter intact, in pages", async () => {
    const url = db.url();
    await (await openStore(url)).close();
    const driver = await driverFor(url);
    try {
      // Many rows of multi-byte text, so that rows and characters straddle the chunks of a COPY.
      const nasty = ["tab\there", "line\nbreak\r\n", "back\\slash\\N", "\\N", "", "quote\"'", "ünï😀\b\f\v"];
      const values = Array.from(
        { length: 6000 },
        (_, i) => `${nasty[i % nasty.length]!}${"é😀".repeat(i % 13)}`,
      );
      // The last row (without a unique key: 6000 % 3 = 0) is longer than a chunk of COPY's output.
      values.push("é😀\t\\".repeat(40_000));
      const connector = "C'\\?\"";
      await driver.copyRows(
        "UR_Resources",
        ["connector", "entity_type", "pk", "uk1", "hash", "properties", "batch_seq", "created_batch_seq"],
        values.map((v, i) => [
          connector,
          "T",
          `k${String(i).padStart(5, "0")}`,
          i % 3 === 0 ? null : v,
          "h",
          v,
          1,
          1,
        ]),
      );
      const streamed: { id: number; pk: string; uk1: string | null; properties: string; n: number }[] = [];
      for await (const page of driver.stream<(typeof streamed)[number]>(
        "SELECT id, pk, uk1, properties, CAST(? AS BIGINT) AS n FROM UR_Resources WHERE connector = ? AND entity_type = ? ORDER BY pk",
        [-7, connector, "T"],
        1000,
      )) {
        expect(page.length).toBeLessThanOrEqual(1000);
        streamed.push(...page);
      }
      expect(streamed.map((r) => r.uk1)).toEqual(values.map((v, i) => (i % 3 === 0 ? null : v)));
      expect(streamed.map((r) => r.properties)).toEqual(values);
      expect(streamed.every((r) => typeof r.id === "number" && r.n === -7)).toBe(true);
      // A caller that stops early releases the stream; the driver goes on.
      for await (const page of driver.stream<{ pk: string }>(
        "SELECT pk FROM UR_Resources ORDER BY pk",
        [],
        10,
      )) {
        expect(page[0]?.pk).toBe("k00000");
        break;
      }
      expect(await driver.get<{ n: number }>("SELECT COUNT(*) AS n FROM UR_Resources")).toEqual({ n: 6001 });
    } finally {
      await driver.close();
    }
  });

  it("rolls a transaction back when its function throws, and streams from a snapshot of its own", async () => {
    const url = db.url();
    await (await openStore(url)).close();
    const driver = await driverFor(url);
    try {
      await expect(
        driver.transaction(async () => {
          await driver.run(
            "INSERT INTO UR_Batches (id, connector, mode, state, created_at) VALUES ('x', 'C', 'complete', 'staging', 'now')",
          );
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await driver.all("SELECT id FROM UR_Batches")).toEqual([]);
      await driver.copyRows(
        "UR_Batches",
        ["id", "connector", "mode", "state", "created_at"],
        Array.from({ length: 10 }, (_, i) => [`b${i}`, "C", "complete", "staging", "now"]),
      );
      let seen = 0;
      for await (const page of driver.stream<{ id: string }>(
        "SELECT id FROM UR_Batches ORDER BY id",
        [],
        3,
      )) {
        seen += page.length;
        // writes while streaming: allowed, and not seen by the stream (file databases)
        await driver.run(
          "INSERT INTO UR_Batches (id, connector, mode, state, created_at) VALUES (?, 'C', 'complete', 'staging', 'now')",
          [`z${seen}`],
        );
      }
      expect(seen).toBe(10);
    } finally {
      await driver.close();
    }
  });

  it("writes an initial load in chunks, each row with the id and mono-valued links its keys were given", async () => {
    const url = db.url();
    await (await openStore(url)).close();
    const driver = await driverFor(url);
    const resources = new ResourceRepository(driver);
    try {
      await driver.run(
        "INSERT INTO UR_Batches (id, connector, mode, state, created_at) VALUES ('b', 'X', 'initial', 'staging', 'now')",
      );
      await driver.transaction(async () => {
        const firstId = await resources.openScratch();
        const pks = Array.from({ length: 10 }, (_, i) => `k${String(i).padStart(2, "0")}`);
        const keys = pks.map((pk) => [pk, null, null, null] as const);
        expect(
          await resources.insertScratchKeys("X", "T", batches(keys.slice(0, 4), keys.slice(4)), firstId),
        ).toBe(10);
        // Mono-valued links resolved against the scratch keys: k01 → k00, k05 → k09 (two columns).
        await driver.exec(
          `INSERT INTO syncup_mono (holder, col, target) VALUES (${firstId + 1}, 128, ${firstId}),
             (${firstId + 5}, 128, ${firstId + 9}), (${firstId + 5}, 130, ${firstId + 1})`,
        );
        const rows = pks.map((pk) => ({
          entityType: "T",
          pk,
          uks: [null, null, null] as const,
          hash: "h",
          properties: "{}",
          sourceHash: null,
        }));
        // Batches of 4 against chunks of 3: batches split across chunks.
        const split = batches(rows.slice(0, 4), rows.slice(4, 8), rows.slice(8));
        expect(await resources.insertMany("X", "b", split, { firstId, chunk: 3 })).toBe(10);
        await resources.closeScratch();
      });
      const held = await resources.list({ connector: "X", limit: 100, offset: 0 });
      const id = (pk: string) => held.find((r) => r.pk === pk)?.id;
      expect(held.map((r) => r.id - id("k00")!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(
        Object.fromEntries(held.filter((r) => Object.keys(r.mono).length > 0).map((r) => [r.pk, r.mono])),
      ).toEqual({
        k01: { 128: id("k00") },
        k05: { 128: id("k09"), 130: id("k01") },
      });
      expect(new Set(held.flatMap((r) => [r.batchId, r.createdBatchId]))).toEqual(new Set(["b"]));
    } finally {
      await driver.close();
    }
  });

  it("defers the secondary indexes of a load into an empty repository, and builds them back as migrated", async () => {
    const url = db.url();
    await (await openStore(url)).close();
    const driver = await driverFor(url);
    const indexes = () =>
      db.dialect === "sqlite"
        ? driver.all<{ name: string; definition: string }>(
            "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
          )
        : driver.all<{ name: string; definition: string }>(
            "SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname",
          );
    try {
      const migrated = await indexes();
      expect(migrated.map((i) => i.name.toLowerCase())).toContain("ur_resources_uk1");
      await driver.transaction(async () => {
        const deferred = await deferIndexes(driver);
        const during = (await indexes()).map((i) => i.name.toLowerCase());
        expect(during).toContain("ur_resources_pk");
        expect(during).not.toContain("ur_resources_uk1");
        expect(during).not.toContain("ur_resourcelinks_resource2");
        if (db.dialect === "postgres") {
          // SQLite keeps links in their primary key's order; PostgreSQL builds it after them.
          expect(migrated.map((i) => i.name)).toContain("ur_resourcelinks_pkey");
          expect(during).not.toContain("ur_resourcelinks_pkey");
        }
        await deferred.afterResources();
        await deferred.afterLinks();
      });
      // Definitions as the migrations wrote them (SQLite keeps the statement's text as written).
      const normalize = (rows: { name: string; definition: string }[]) =>
        rows.map((i) => ({ name: i.name.toLowerCase(), definition: i.definition.replace(/\s+/g, " ") }));
      expect(normalize(await indexes())).toEqual(normalize(migrated));

      // A repository that holds rows keeps its indexes.
      await driver.run(
        `INSERT INTO UR_Resources (connector, entity_type, pk, hash, properties, batch_seq, created_batch_seq)
         VALUES ('C', 'T', 'k', 'h', '{}', 1, 1)`,
      );
      await driver.transaction(async () => {
        await deferIndexes(driver);
        expect(normalize(await indexes())).toEqual(normalize(migrated));
      });
    } finally {
      await driver.close();
    }
  });

  it.runIf(db.dialect === "postgres")(
    "keeps the indexes, without waiting, while another session uses the empty tables",
    async () => {
      const url = db.url();
      await (await openStore(url)).close();
      const [first, second] = [await driverFor(url), await driverFor(url)];
      try {
        await first.transaction(async () => {
          // Another initial load that looked at the empty repository a moment before.
          await first.get("SELECT 1 AS one FROM UR_Resources LIMIT 1");
          await second.transaction(async () => {
            const deferred = await deferIndexes(second);
            await deferred.afterResources();
            await deferred.afterLinks();
            // The transaction goes on: a refused lock left nothing aborted.
            await second.run(
              `INSERT INTO UR_Resources (connector, entity_type, pk, hash, properties, batch_seq, created_batch_seq)
               VALUES ('C', 'T', 'k', 'h', '{}', 1, 1)`,
            );
          });
        });
        const names = await first.all<{ name: string }>(
          "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()",
        );
        expect(names.map((n) => n.name)).toContain("ur_resources_uk1");
        expect(await first.all("SELECT pk FROM UR_Resources")).toEqual([{ pk: "k" }]);
      } finally {
        await first.close();
        await second.close();
      }
    },
  );
});

describe("SQLite bulk transactions (initial loads)", () => {
  const sqlite = databases.find((db) => db.dialect === "sqlite")!;
  const mode = async (driver: Driver) =>
    (await driver.get<{ journal_mode: string }>("PRAGMA journal_mode"))?.journal_mode;

  it("use a rollback journal, and leave the database in WAL mode, committed or rolled back", async () => {
    const driver = await driverFor(sqlite.url());
    try {
      await driver.exec("CREATE TABLE t (x INTEGER)");
      expect(await mode(driver)).toBe("wal");
      await driver.transaction(
        async () => {
          expect(await mode(driver)).toBe("delete");
          await driver.run("INSERT INTO t VALUES (1)");
        },
        { bulk: true },
      );
      expect(await mode(driver)).toBe("wal");
      await expect(
        driver.transaction(
          async () => {
            await driver.run("INSERT INTO t VALUES (2)");
            throw new Error("boom");
          },
          { bulk: true },
        ),
      ).rejects.toThrow("boom");
      expect(await mode(driver)).toBe("wal");
      const streamed: unknown[] = [];
      for await (const page of driver.stream("SELECT x FROM t", [])) streamed.push(...page);
      expect(streamed).toEqual([{ x: 1 }]);
    } finally {
      await driver.close();
    }
  });

  it("keep the WAL, without waiting, while another connection has the file open", async () => {
    const url = sqlite.url();
    const driver = await driverFor(url);
    const other = await driverFor(url);
    try {
      await driver.exec("CREATE TABLE t (x INTEGER)");
      expect(await other.all("SELECT x FROM t")).toEqual([]);
      const started = Date.now();
      await driver.transaction(
        async () => {
          expect(await mode(driver)).toBe("wal");
          await driver.run("INSERT INTO t VALUES (1)");
        },
        { bulk: true },
      );
      expect(Date.now() - started).toBeLessThan(5000); // not the 10 s busy timeout
      expect(await other.all("SELECT x FROM t")).toEqual([{ x: 1 }]);
    } finally {
      await other.close();
      await driver.close();
    }
  });
});

describe("openStore URLs", () => {
  it("opens an in-memory SQLite database", async () => {
    const store = await openStore("sqlite::memory:");
    expect(store.dialect).toBe("sqlite");
    expect(await store.resources.hasAny("X")).toBe(false);
    await store.close();
  });

  it("refuses an unknown scheme or schema name with DATABASE_URL_INVALID", async () => {
    await expect(openStore("mysql://localhost/db")).rejects.toMatchObject({ code: "DATABASE_URL_INVALID" });
    await expect(openStore("postgres://127.0.0.1/test?schema=bad-name")).rejects.toMatchObject({
      code: "DATABASE_URL_INVALID",
    });
    await expect(openStore("sqlite:")).rejects.toMatchObject({ code: "DATABASE_URL_INVALID" });
  });
});
