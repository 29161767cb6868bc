/**
 * A process killed (SIGKILL) in the middle of an apply transaction, or of an initial load,
 * leaves the repository exactly as it was, and the next run converges: on SQLite and
 * PostgreSQL, with a real `syncup sync` process.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteDriver } from "../../src/store/sqlite/driver.js";
import { openStore } from "../../src/store/store.js";
import { decideBatch } from "../../src/sync/review.js";
import { driverFor, testDatabases } from "../store/dialects.js";
import { dataset, snapshot, tempDir, testConfigYaml, user, writeComplete } from "./helpers.js";

const bin = resolve(import.meta.dirname, "..", "..", "bin", "syncup.js");

function startCli(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.on("exit", (code, signal) => ok({ code, signal })),
  );
  return { child, exited, stderr: () => stderr };
}

function startSync(
  config: string,
  mode: "initial" | "complete",
  env: Record<string, string> = {},
  args: readonly string[] = [],
) {
  const child = spawn(
    process.execPath,
    [bin, "sync", "--config", config, "--connector", "HR", "--mode", mode, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.on("exit", (code, signal) => ok({ code, signal })),
  );
  return { child, exited, stderr: () => stderr };
}

/** Kills `run` (SIGKILL) once it announces the pause before `step`. */
async function killBefore(run: ReturnType<typeof startSync>, step: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!run.stderr().includes(`before the apply step "${step}"`) && Date.now() < deadline) {
    await new Promise((ok) => setTimeout(ok, 50));
  }
  expect(run.stderr()).toContain(`before the apply step "${step}"`);
  run.child.kill("SIGKILL");
  expect((await run.exited).signal).toBe("SIGKILL");
}

/** Every row of the repository's resources and links, ids included, in one order. */
async function rowsOf(url: string): Promise<unknown[][]> {
  const driver = await driverFor(url);
  try {
    return [
      await driver.all(
        "SELECT id, entity_type, pk, uk1, hash, properties, i128 FROM UR_Resources ORDER BY id",
      ),
      await driver.all(
        "SELECT association, key1, key2, resource1, resource2 FROM UR_ResourceLinks ORDER BY association, key1, key2",
      ),
      await driver.all("SELECT kind, scope, n FROM UR_ScopeCounts ORDER BY kind, scope"),
    ];
  } finally {
    await driver.close();
  }
}

for (const db of testDatabases()) {
  describe(`a process killed mid-apply (${db.dialect})`, () => {
    afterAll(() => db.cleanup());

    it("leaves the repository as before, and the next run applies the batch whole", async () => {
      const workDir = tempDir();
      const url = db.url();
      const config = join(workDir, "syncup.yaml");
      writeFileSync(config, testConfigYaml(workDir, {}, url));
      const before = dataset(40);
      await writeComplete(workDir, before, "initial");
      const initial = startSync(config, "initial");
      expect((await initial.exited).code, initial.stderr()).toBe(0);

      const store = await openStore(url);
      try {
        const held = await snapshot(store);
        expect(held.resources.length).toBeGreaterThan(40);
        const after = { ...before, users: before.users.slice(5).concat(user(41), user(42)) };
        await writeComplete(workDir, after);

        // Each apply step pauses inside the transaction: kill once the resources were written,
        // in the pause before the links.
        await killBefore(startSync(config, "complete", { SYNCUP_TEST_APPLY_PAUSE_MS: "3000" }), "links");
        expect(await snapshot(store)).toEqual(held);

        const rerun = startSync(config, "complete");
        expect((await rerun.exited).code, rerun.stderr()).toBe(0);
        const converged = await snapshot(store);
        expect(converged).not.toEqual(held);
        expect(converged.resources.filter((r) => r.startsWith("User:u0041")).length).toBe(1);
        expect(converged.resources.some((r) => r.startsWith("User:u0001 "))).toBe(false);
        const batches = await store.batches.list({ connector: "HR", limit: 10 });
        expect(batches.map((b) => b.state)).toEqual(["applied", "failed", "applied"]);
      } finally {
        await store.close();
      }
    }, 60_000);

    it("a partial apply killed mid-transaction leaves the repository and the decisions as before", async () => {
      const workDir = tempDir();
      const url = db.url();
      const config = join(workDir, "syncup.yaml");
      writeFileSync(config, testConfigYaml(workDir, { thresholds: { MaximumDeletedLines: 1 } }, url));
      const before = dataset(30);
      await writeComplete(workDir, before, "initial");
      expect((await startSync(config, "initial").exited).code).toBe(0);
      await writeComplete(workDir, { ...before, users: before.users.slice(4), members: [], managers: [] });
      const blocked = startSync(config, "complete");
      expect((await blocked.exited).code, blocked.stderr()).toBe(3);

      const store = await openStore(url);
      try {
        const id = (await store.batches.blocked("HR"))!.id;
        const actor = { id: "alice", role: "approver" };
        await decideBatch(store, id, actor, "approved", { keys: ["u0001", "u0002"] });
        await decideBatch(store, id, actor, "rejected", { keys: ["u0003"] });
        const held = await snapshot(store);
        const decisions = await store.journal.decisions(id);

        const apply = startCli(["batches", "apply", id, "--rest", "approve", "--config", config], {
          SYNCUP_TEST_APPLY_PAUSE_MS: "3000",
        });
        await killBefore(apply, "deletes");
        expect(await snapshot(store)).toEqual(held);
        expect((await store.batches.get(id))?.state).toBe("blocked");
        expect(await store.journal.decisions(id)).toEqual(decisions);

        const again = startCli(["batches", "apply", id, "--rest", "approve", "--config", config]);
        expect((await again.exited).code, again.stderr()).toBe(0);
        expect(await store.batches.get(id)).toMatchObject({ state: "applied", partial: true });
        const users = (await snapshot(store)).resources
          .filter((r) => r.startsWith("User:"))
          .map((r) => r.split(" ")[0]);
        expect(users).toContain("User:u0003");
        expect(users).not.toContain("User:u0001");
      } finally {
        await store.close();
      }
    }, 60_000);

    // SQLite runs an initial load with a rollback journal (see SqliteDriver.rollbackJournal).
    // There 60,000 users are more than its page cache holds: pages reach the file before the
    // kill, and only the journal can put them back.
    it("an initial load replacing the connector (--force), killed with its resources written, leaves the repository as before", async () => {
      const workDir = tempDir();
      const url = db.url();
      const config = join(workDir, "syncup.yaml");
      writeFileSync(config, testConfigYaml(workDir, {}, url));
      const n = db.dialect === "sqlite" ? 60_000 : 5_000;
      await writeComplete(workDir, dataset(n), "initial");
      const initial = startSync(config, "initial");
      expect((await initial.exited).code, initial.stderr()).toBe(0);
      const held = await rowsOf(url);
      const file = url.slice("sqlite:".length);
      const digest = () => createHash("sha256").update(readFileSync(file)).digest("hex");
      const fileBefore = db.dialect === "sqlite" ? digest() : "";

      const changed = dataset(n);
      changed.users = changed.users.map((u, i) => ({ ...u, name: `${u.name} renamed ${i}` }));
      await writeComplete(workDir, changed, "initial");
      const replace = startSync(config, "initial", { SYNCUP_TEST_APPLY_PAUSE_MS: "3000" }, ["--force"]);
      await killBefore(replace, "links");
      if (db.dialect === "sqlite") {
        expect(existsSync(`${file}-journal`)).toBe(true); // hot: written, not committed
        expect(digest()).not.toBe(fileBefore);
      }
      expect(await rowsOf(url)).toEqual(held);
      if (db.dialect === "sqlite") {
        expect(existsSync(`${file}-journal`)).toBe(false);
        const driver = SqliteDriver.open(url);
        expect(await driver.get("PRAGMA journal_mode")).toEqual({ journal_mode: "wal" });
        await driver.close();
      }

      const rerun = startSync(config, "initial", {}, ["--force"]);
      expect((await rerun.exited).code, rerun.stderr()).toBe(0);
      const replaced = await rowsOf(url);
      expect(replaced[0]).toHaveLength(held[0]!.length);
      expect(JSON.stringify(replaced[0])).toContain(`renamed ${n - 1}`);
    }, 120_000);
  });
}
