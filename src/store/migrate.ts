import { SyncupError } from "../errors.js";
import type { Driver } from "./driver.js";
import { MIGRATIONS } from "./migrations/index.js";
import type { DdlTypes, Migration } from "./migrations/types.js";

/**
 * Brings the database up to the latest migration, each in its own transaction, and records
 * it in `syncup_migrations`. Refuses a database that a newer syncup has migrated further.
 * Returns the ids applied now.
 *
 * Several processes may start on a fresh database at once (server instances, a server and a
 * CLI command): on PostgreSQL they migrate one at a time, under an advisory lock of the
 * schema, since two sessions creating the same table collide in the catalogue even with
 * `IF NOT EXISTS`. On SQLite a migration's transaction takes the write lock from its start
 * (`BEGIN IMMEDIATE`), so each migration checks in it that no other process applied it first.
 */
export async function migrate(
  db: Driver,
  ddl: DdlTypes,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  return oneAtATime(db, async () => {
    await db.exec(
      "CREATE TABLE IF NOT EXISTS syncup_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    );
    const applied = new Set(
      (await db.all<{ id: number }>("SELECT id FROM syncup_migrations")).map((r) => r.id),
    );
    const latest = migrations.at(-1)?.id ?? 0;
    const newest = Math.max(0, ...applied);
    if (newest > latest) {
      throw new SyncupError(
        "DATABASE_SCHEMA_NEWER",
        `The database ${db.label} has schema version ${newest}, newer than this syncup knows (${latest}). Upgrade syncup.`,
      );
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      const ran = await db.transaction(async () => {
        if (await db.get("SELECT id FROM syncup_migrations WHERE id = ?", [migration.id])) return false;
        await db.exec(migration.sql(ddl));
        await db.run("INSERT INTO syncup_migrations (id, name, applied_at) VALUES (?, ?, ?)", [
          migration.id,
          migration.name,
          new Date().toISOString(),
        ]);
        return true;
      });
      if (ran) done.push(migration.id);
    }
    return done;
  });
}

/** The advisory lock that serializes migrations of one PostgreSQL schema (`current_schema()`). */
const MIGRATION_LOCK = "hashtextextended('syncup-migrate:' || COALESCE(current_schema(), ''), 0)";

/** Runs `fn` while no other session migrates the same PostgreSQL schema; as is on SQLite. */
async function oneAtATime<T>(db: Driver, fn: () => Promise<T>): Promise<T> {
  if (db.dialect !== "postgres") return fn();
  await db.get(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
  try {
    return await fn();
  } finally {
    // A session lost meanwhile took its lock along: there is nothing left to release then.
    await db.get(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => undefined);
  }
}
