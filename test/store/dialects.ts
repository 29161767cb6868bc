/**
 * The databases every store test runs on: a SQLite file in a temporary folder, and a schema
 * of its own in the PostgreSQL test database (dropped at the end).
 * PostgreSQL: $SYNCUP_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Driver } from "../../src/store/driver.js";
import { PostgresDriver } from "../../src/store/postgres/driver.js";
import { SqliteDriver } from "../../src/store/sqlite/driver.js";

export interface TestDatabase {
  readonly dialect: "sqlite" | "postgres";
  /** A fresh, empty database URL. */
  url(): string;
  /** Drops every database handed out. */
  cleanup(): Promise<void>;
}

const POSTGRES_URL = process.env["SYNCUP_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

function sqlite(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), "syncup-store-"));
  let n = 0;
  return {
    dialect: "sqlite",
    url: () => `sqlite:${join(dir, `db${++n}.sqlite`)}`,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

function postgres(): TestDatabase {
  const prefix = `syncup_t${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const schemas: string[] = [];
  return {
    dialect: "postgres",
    url: () => {
      const schema = `${prefix}_${schemas.length + 1}`;
      schemas.push(schema);
      return `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}schema=${schema}`;
    },
    cleanup: async () => {
      if (schemas.length === 0) return;
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** One test database per dialect; call `cleanup` in afterAll. */
export function testDatabases(): TestDatabase[] {
  return [sqlite(), postgres()];
}

/** A driver (unmigrated) on a test database's URL. */
export async function driverFor(url: string): Promise<Driver> {
  return url.startsWith("sqlite:") ? SqliteDriver.open(url) : PostgresDriver.open(url);
}
