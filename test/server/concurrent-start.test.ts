/**
 * Processes started together on a fresh database (server instances behind a load balancer, a
 * server and a CLI command) all start: they migrate one at a time, and each migration is
 * applied and recorded once.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/store/migrations/index.js";
import { openStore } from "../../src/store/store.js";
import { ServerProcess, freePort, syncup } from "../e2e/harness.js";
import { testDatabases } from "../store/dialects.js";
import { makeEnv } from "./helpers.js";

const TOGETHER = 4;
const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

/** The ids `syncup_migrations` records, with repetitions, in order. */
async function recordedMigrations(url: string): Promise<number[]> {
  const sql = "SELECT id FROM syncup_migrations ORDER BY id";
  if (url.startsWith("sqlite:")) {
    const db = new Database(url.slice("sqlite:".length), { readonly: true });
    try {
      return db
        .prepare<[], { id: number }>(sql)
        .all()
        .map((r) => r.id);
    } finally {
      db.close();
    }
  }
  const parsed = new URL(url);
  const schema = parsed.searchParams.get("schema")!;
  parsed.searchParams.delete("schema");
  const client = new pg.Client({ connectionString: parsed.toString() });
  await client.connect();
  try {
    const result = await client.query<{ id: number }>(
      sql.replace("syncup_migrations", `"${schema}".syncup_migrations`),
    );
    return result.rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

const EVERY_MIGRATION = MIGRATIONS.map((m) => m.id);

describe.each(databases.filter((db) => db.dialect === "postgres"))(
  "servers started together on a fresh $dialect schema",
  (db) => {
    it(`${TOGETHER} stores opened at once all open, each migration recorded once`, async () => {
      const url = db.url();
      const opened = await Promise.allSettled(Array.from({ length: TOGETHER }, () => openStore(url)));
      for (const result of opened) if (result.status === "fulfilled") await result.value.close();
      expect(opened.map((r) => (r.status === "rejected" ? String(r.reason) : "opened"))).toEqual(
        Array.from({ length: TOGETHER }, () => "opened"),
      );
      expect(await recordedMigrations(url)).toEqual(EVERY_MIGRATION);
    }, 30_000);

    it(`${TOGETHER} syncup server processes started at once all serve`, async () => {
      const env = await makeEnv(db.url());
      const ports = await Promise.all(Array.from({ length: TOGETHER }, () => freePort()));
      const started = await Promise.allSettled(
        ports.map((port) =>
          ServerProcess.start({
            cwd: env.dir,
            config: env.configPath,
            port,
            env: { SYNCUP_DATABASE_URL: env.databaseUrl },
          }),
        ),
      );
      try {
        expect(started.map((r) => (r.status === "rejected" ? String(r.reason) : "serving"))).toEqual(
          ports.map(() => "serving"),
        );
        for (const port of ports) {
          expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
        }
        expect(await recordedMigrations(env.databaseUrl)).toEqual(EVERY_MIGRATION);
      } finally {
        for (const result of started) if (result.status === "fulfilled") await result.value.stop();
        env.cleanup();
      }
    }, 60_000);
  },
);

describe.each(databases)("commands started together on a fresh $dialect database", (db) => {
  it(`${TOGETHER} syncup commands started at once all succeed`, async () => {
    const env = await makeEnv(db.url());
    try {
      const finished = await Promise.all(
        Array.from({ length: TOGETHER }, () =>
          syncup(["batches", "list", "--config", env.configPath], {
            cwd: env.dir,
            env: { SYNCUP_DATABASE_URL: env.databaseUrl },
          }),
        ),
      );
      expect(finished.map((f) => `${f.code} ${f.stderr}`)).toEqual(finished.map(() => "0 "));
      expect(await recordedMigrations(env.databaseUrl)).toEqual(EVERY_MIGRATION);
    } finally {
      env.cleanup();
    }
  }, 60_000);
});
