/**
 * A process killed (SIGKILL) in the middle of an apply transaction leaves the repository
 * exactly as it was, and the next run converges: on SQLite and PostgreSQL, with a real
 * `syncup sync` process.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { testDatabases } from "../store/dialects.js";
import { dataset, snapshot, tempDir, testConfigYaml, user, writeComplete } from "./helpers.js";

const bin = resolve(import.meta.dirname, "..", "..", "bin", "syncup.js");

function startSync(config: string, mode: "initial" | "complete", env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [bin, "sync", "--config", config, "--connector", "HR", "--mode", mode],
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
        const killed = startSync(config, "complete", { SYNCUP_TEST_APPLY_PAUSE_MS: "3000" });
        const deadline = Date.now() + 30_000;
        while (!killed.stderr().includes('before the apply step "links"') && Date.now() < deadline) {
          await new Promise((ok) => setTimeout(ok, 50));
        }
        expect(killed.stderr()).toContain('before the apply step "links"');
        killed.child.kill("SIGKILL");
        expect((await killed.exited).signal).toBe("SIGKILL");
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
  });
}
