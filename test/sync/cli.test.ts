/** `syncup sync`, `syncup batches` and `syncup resources`, driven through the CLI's entry point. */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import {
  dataset,
  sortedFiles,
  tempDir,
  testConfigYaml,
  user,
  writeComplete,
  writeIncremental,
  writePrepared,
} from "./helpers.js";

function sink(): Writable & { text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return Object.assign(stream, { text: () => text });
}

/** The helpers' configuration in a file, with a SQLite repository in the work folder. */
function configFile(workDir: string, thresholds: Record<string, number> = {}): string {
  const path = join(workDir, "syncup.yaml");
  writeFileSync(path, testConfigYaml(workDir, { thresholds }, `sqlite:${join(workDir, "repo.db")}`));
  return path;
}

async function syncup(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(["node", "syncup", ...argv], { stdout, stderr, env: {} });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("syncup sync / batches / resources", () => {
  it("synchronizes, blocks, shows, validates and looks up resources", async () => {
    const workDir = tempDir();
    const config = configFile(workDir, { MaximumDeletedLines: 1 });
    const data = dataset(6);
    await writeComplete(workDir, data, "initial");
    const initial = await syncup("sync", "--config", config, "--connector", "HR", "--mode", "initial");
    expect(initial.stderr).toBe("");
    expect(initial.code).toBe(0);
    expect(initial.stdout).toMatch(/Batch [0-9a-f-]{36}: HR initial — applied/);
    expect(initial.stdout).toMatch(/User +│? *6 +│? *6/);

    await writeComplete(workDir, { ...data, users: data.users.slice(2).concat(user(7)) });
    const blocked = await syncup("sync", "--config", config, "--connector", "HR", "--json");
    expect(blocked.code).toBe(3);
    const report = JSON.parse(blocked.stdout) as {
      batchId: string;
      state: string;
      crossed: { threshold: string }[];
    };
    expect(report.state).toBe("blocked");
    expect(report.crossed.map((c) => c.threshold)).toEqual(["MaximumDeletedLines"]);

    const list = await syncup("batches", "list", "--config", config);
    expect(list.stdout).toContain(report.batchId);
    expect(list.stdout).toContain("blocked");
    const show = await syncup("batches", "show", report.batchId, "--config", config);
    expect(show.stdout).toContain('MaximumDeletedLines at connector "HR": 2 lines > 1 lines');
    const changes = await syncup(
      "batches",
      "changes",
      report.batchId,
      "--config",
      config,
      "--operation",
      "delete",
      "--entity-type",
      "User",
    );
    expect(changes.stdout).toContain("u0001");
    expect(changes.stdout).toContain("u0002");
    expect(changes.stdout).toContain("2 changes match.");
    expect(changes.stdout).toMatch(/user1@example\.com/);

    await writeIncremental(workDir, data, data);
    const refused = await syncup("sync", "--config", config, "--connector", "HR", "--mode", "incremental");
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`syncup batches validate ${report.batchId}`);

    const validated = await syncup("batches", "validate", report.batchId, "--config", config);
    expect(validated.code).toBe(0);
    expect(validated.stdout).toContain("applied");
    expect((await syncup("batches", "validate", report.batchId, "--config", config)).code).toBe(2);

    const get = await syncup("resources", "get", "u0003", "--config", config, "--connector", "HR");
    expect(get.stdout).toContain("user3@example.com");
    expect(get.stdout).toMatch(/Membership.*Group.*g3/);
    const history = await syncup(
      "resources",
      "history",
      "u0001",
      "--config",
      config,
      "--connector",
      "HR",
      "--json",
    );
    const entries = JSON.parse(history.stdout) as {
      decidedBy: string[];
      change: { kind: string; operation: string; before: { mail?: string } | null };
    }[];
    const resourceChanges = entries.filter((h) => h.change.kind === "resource");
    expect(resourceChanges.map((h) => h.change.operation)).toEqual(["insert", "delete"]);
    expect(resourceChanges[1]?.change.before?.mail).toBe("user1@example.com");
    expect(resourceChanges[1]?.decidedBy.length).toBe(1);
    // Its links went with it, journaled too.
    expect(entries.some((h) => h.change.kind === "link" && h.change.operation === "delete")).toBe(true);
    const table = await syncup("resources", "history", "u0001", "--config", config, "--connector", "HR");
    expect(table.stdout).toMatch(/resource delete/);
    const resources = await syncup(
      "resources",
      "list",
      "--config",
      config,
      "--connector",
      "HR",
      "--entity-type",
      "User",
    );
    expect(resources.stdout).toContain("u0007");
    expect(resources.stdout).not.toContain("u0001");
  });
});

const root = resolve(import.meta.dirname, "..", "..");

describe.skipIf(!existsSync(join(root, "dist", "cli", "main.js")))("the built syncup binary", () => {
  const bin = (...argv: string[]) => {
    const result = spawnSync(process.execPath, [join(root, "bin", "syncup.js"), ...argv], {
      encoding: "utf8",
      env: { ...process.env, SYNCUP_DATABASE_URL: "" },
    });
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  };

  // The built CLI translates an initial load's rows on a worker thread: its errors must come
  // back to the main thread as they are, and the load must leave nothing.
  it("fails an initial load whose rows are translated on a worker, as the in-thread one does", async () => {
    const workDir = tempDir();
    const config = configFile(workDir);
    const data = dataset(6);
    data.users = data.users.map((u) => (u.id === "u0005" ? { ...u, age: "old" } : u));
    await writeComplete(workDir, data, "initial");
    const converted = bin("sync", "--config", config, "--connector", "HR", "--mode", "initial");
    expect(converted.code).toBe(2);
    expect(converted.stderr).toContain('"User.sorted.csv" line 6, column 4 (age): "old" is not int32');
    const left = bin("resources", "list", "--config", config, "--connector", "HR", "--json");
    expect(left.code).toBe(0);
    expect(JSON.parse(left.stdout)).toEqual([]);

    const swapped = sortedFiles(dataset(4)).map((f) => ({ ...f, kind: "sorted" as const }));
    const users = swapped[0]!.rows;
    [users[1], users[2]] = [users[2]!, users[1]!];
    await writePrepared(workDir, "initial", swapped);
    const unsorted = bin("sync", "--config", config, "--connector", "HR", "--mode", "initial");
    expect(unsorted.code).toBe(2);
    expect(unsorted.stderr).toContain('"User.sorted.csv" line 4: key "u0002" is not after "u0003"');

    await writeComplete(workDir, dataset(6), "initial");
    const loaded = bin("sync", "--config", config, "--connector", "HR", "--mode", "initial", "--json");
    expect(loaded.code).toBe(0);
    expect(JSON.parse(loaded.stdout)).toMatchObject({ state: "applied", resources: { inserted: 9 } });
  });

  it("runs sync and batches list, with exit codes 0, 2 and 3", async () => {
    const workDir = tempDir();
    const config = configFile(workDir, { MaximumInsertedLines: 2 });
    await writeComplete(workDir, dataset(4), "initial");
    const initial = bin("sync", "--config", config, "--connector", "HR", "--mode", "initial", "--json");
    expect(initial.stderr).toBe("");
    expect(initial.code).toBe(0);
    expect(JSON.parse(initial.stdout)).toMatchObject({ state: "applied", resources: { inserted: 7 } });
    const again = bin("sync", "--config", config, "--connector", "HR", "--mode", "initial");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("INITIAL_NOT_EMPTY");
    await writeComplete(workDir, dataset(7));
    const blocked = bin("sync", "--config", config, "--connector", "HR");
    expect(blocked.code).toBe(3);
    expect(blocked.stdout).toContain("MaximumInsertedLines");
    const list = bin("batches", "list", "--config", config, "--json");
    expect((JSON.parse(list.stdout) as { state: string }[]).map((b) => b.state)).toEqual([
      "blocked",
      "applied",
    ]);
  });
});
