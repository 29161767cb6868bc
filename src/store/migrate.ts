import { SyncupError } from "../errors.js";
import type { Driver } from "./driver.js";
import { MIGRATIONS } from "./migrations/index.js";
import type { DdlTypes, Migration } from "./migrations/types.js";

/**
 * Brings the database up to the latest migration, each in its own transaction, and records
 * it in `syncup_migrations`. Refuses a database that a newer syncup has migrated further.
 * Returns the ids applied now.
 */
export async function migrate(
  db: Driver,
  ddl: DdlTypes,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
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
    await db.transaction(async () => {
      await db.exec(migration.sql(ddl));
      await db.run("INSERT INTO syncup_migrations (id, name, applied_at) VALUES (?, ?, ?)", [
        migration.id,
        migration.name,
        new Date().toISOString(),
      ]);
    });
    done.push(migration.id);
  }
  return done;
}
