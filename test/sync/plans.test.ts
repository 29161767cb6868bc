/**
 * An incremental synchronization reads the repository only where its changes point: every
 * statement it runs on SQLite is planned as lookups by key or id, never as a pass over a
 * connector's resources or an association's links. SQLite plans without statistics, and a
 * plan that walks an index by its connector prefix looks like a lookup but costs the whole
 * scope per row (a unique-key lookup once did: 30,000 links took a minute). This test reads
 * the plan of each statement as it runs.
 */
import { afterAll, expect, it } from "vitest";
import { openStore, synchronize } from "../../src/sync/index.js";
import { SqliteDriver } from "../../src/store/sqlite/driver.js";
import type { SqlValue } from "../../src/store/driver.js";
import { testDatabases } from "../store/dialects.js";
import { CONNECTOR, dataset, tempDir, testConfig, user, writeComplete, writeIncremental } from "./helpers.js";

const sqlite = testDatabases().find((db) => db.dialect === "sqlite")!;
afterAll(() => sqlite.cleanup());

/** The lines of a statement's plan that read a repository table beyond what keys or ids select. */
function wholeScopeReads(sql: string, plan: readonly string[]): string[] {
  const names = new Set(["UR_Resources", "UR_ResourceLinks"]);
  for (const m of sql.matchAll(/\b(UR_Resources|UR_ResourceLinks)\s+(?:AS\s+)?([A-Za-z_]\w*)/g)) {
    if (!/^(WHERE|ON|SET|JOIN|LEFT|CROSS|GROUP|ORDER|LIMIT|FROM|AND|OR)$/i.test(m[2]!)) names.add(m[2]!);
  }
  return plan.filter((line) => {
    const scan = /^SCAN (\w+)/.exec(line);
    if (scan !== null) return names.has(scan[1]!);
    // A search by the scope's prefix alone: (connector=?), (connector=? AND entity_type=?) or
    // (connector=? AND association=?).
    const search = /^SEARCH (\w+) USING .*\((connector=\?(?: AND (?:entity_type|association)=\?)?)\)$/.exec(
      line,
    );
    return search !== null && names.has(search[1]!);
  });
}

it("an incremental on SQLite reads the repository by key and id only", async () => {
  const workDir = tempDir();
  const store = await openStore(sqlite.url());
  try {
    const config = testConfig(workDir);
    const before = dataset(2000);
    await writeComplete(workDir, before, "initial");
    await synchronize({ store, config, connector: CONNECTOR, mode: "initial" });

    // Updates, re-keys (e-mail is a unique key that memberships are resolved by), deletes
    // (with the links and manager references that point to them), inserts, link changes.
    const after = dataset(2000);
    after.users = after.users
      .filter((_, i) => i % 50 !== 7)
      .map((u, i) =>
        i % 40 === 3 ? { ...u, name: `${u.name} v2` } : i % 60 === 11 ? { ...u, mail: `x${u.mail}` } : u,
      )
      .concat([user(2001), user(2002)]);
    const mails = new Set(after.users.map((u) => u.mail));
    after.members = after.members.filter(([, mail]) => mails.has(mail)).concat([["g1", user(2001).mail]]);
    const ids = new Set(after.users.map((u) => u.id));
    after.managers = after.managers
      .filter(([id, manager]) => ids.has(id) && ids.has(manager))
      .map(([id, manager], i) => (i % 30 === 0 ? [id, "u0002"] : [id, manager]));
    await writeIncremental(workDir, before, after);

    const plans: { sql: string; reads: string[] }[] = [];
    type Raw = { db: { prepare(sql: string): { all(...params: SqlValue[]): { detail: string }[] } } };
    type Method = (this: Raw, sql: string, params?: readonly SqlValue[]) => Promise<unknown>;
    const prototype = SqliteDriver.prototype as unknown as Record<"all" | "get" | "run", Method>;
    const originals = { all: prototype.all, get: prototype.get, run: prototype.run };
    for (const method of ["all", "get", "run"] as const) {
      prototype[method] = function (sql, params = []) {
        if (/^\s*(SELECT|INSERT|UPDATE|DELETE)/i.test(sql)) {
          const plan = this.db
            .prepare(`EXPLAIN QUERY PLAN ${sql}`)
            .all(...params)
            .map((row) => row.detail);
          plans.push({ sql: sql.replace(/\s+/g, " ").trim(), reads: wholeScopeReads(sql, plan) });
        }
        return originals[method].call(this, sql, params);
      };
    }
    let report;
    try {
      report = await synchronize({ store, config, connector: CONNECTOR, mode: "incremental" });
    } finally {
      Object.assign(prototype, originals);
    }

    expect(report.state).toBe("applied");
    expect(report.resources.deleted).toBeGreaterThan(30);
    expect(report.resources.updated).toBeGreaterThan(60);
    expect(report.links.inserted).toBeGreaterThan(0);
    expect(report.links.deleted).toBeGreaterThan(0);
    expect(plans.length).toBeGreaterThan(20);
    expect(plans.filter((p) => p.reads.length > 0)).toEqual([]);
  } finally {
    await store.close();
  }
}, 60_000);
