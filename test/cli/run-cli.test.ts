/**
 * `syncup run` on the quickstart example, as the README promises it: a first run loads,
 * a second reports zero changes, deleting half the people blocks with exit code 3 and the
 * staged deletes can be reviewed and validated.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { quickstart, syncup as binary } from "./binary.js";

const dir = mkdtempSync(join(tmpdir(), "syncup-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const syncup = (args: string[]) => binary(args, dir);

interface RunJson {
  runs: {
    connector: string;
    mode: string;
    sync: {
      batchId: string;
      state: string;
      resources: Record<string, number>;
      links: Record<string, number>;
    };
  }[];
}

describe("syncup run on the quickstart example", () => {
  const config = quickstart(dir);
  const run = (extra: string[] = []) => syncup(["run", "--config", config, "--json", ...extra]);

  it("loads everything on the first run (initial) and finds nothing to do on the second (incremental)", () => {
    const first = run();
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const loaded = JSON.parse(first.stdout) as RunJson;
    expect(loaded.runs.map((r) => [r.connector, r.mode, r.sync.state])).toEqual([
      ["HR", "initial", "applied"],
      ["AD", "initial", "applied"],
    ]);
    expect(loaded.runs[0]?.sync.resources["inserted"]).toBe(300);

    const second = JSON.parse(run().stdout) as RunJson;
    for (const r of second.runs) {
      // auto: previous/ and the repository agree, so the second run is incremental.
      expect(r.mode).toBe("incremental");
      expect(r.sync.resources).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
      expect(r.sync.links).toEqual({ inserted: 0, deleted: 0 });
    }
  });

  it("blocks a run that would delete half the people, shows the staged deletes, applies them on validate", () => {
    const hr = join(dir, "hr", "hr_people_20261126.csv");
    const lines = readFileSync(hr, "latin1").split("\r\n");
    writeFileSync(hr, Buffer.from(lines.filter((_, i) => i < 2 || i % 2 === 0).join("\r\n"), "latin1"));
    const blocked = run(["--connector", "HR"]);
    expect(blocked.code).toBe(3);
    const report = JSON.parse(blocked.stdout) as RunJson;
    const batch = report.runs[0]?.sync;
    expect(batch?.state).toBe("blocked");
    expect(batch?.resources["deleted"]).toBe(150);

    const changes = syncup([
      "batches",
      "changes",
      batch?.batchId ?? "",
      "--config",
      config,
      "--operation",
      "delete",
      "--json",
      "--limit",
      "500",
    ]);
    expect(changes.code).toBe(0);
    expect(changes.stdout).toContain('"delete"');

    const unchanged = JSON.parse(
      syncup(["resources", "list", "--connector", "HR", "--config", config, "--json", "--limit", "1000"])
        .stdout,
    ) as unknown[];
    expect(unchanged).toHaveLength(300);

    const validated = syncup(["batches", "validate", batch?.batchId ?? "", "--config", config]);
    expect(validated.code).toBe(0);
    expect(validated.stdout).toContain('previous/ of connector "HR" now holds the files of this batch');
    const after = JSON.parse(
      syncup(["resources", "list", "--connector", "HR", "--config", config, "--json", "--limit", "1000"])
        .stdout,
    ) as unknown[];
    expect(after).toHaveLength(150);

    // previous/ moved with the validation: an incremental run is based on the validated batch.
    const incremental = run(["--connector", "HR", "--mode", "incremental"]);
    expect(incremental.code, incremental.stderr).toBe(0);
    const next = (JSON.parse(incremental.stdout) as RunJson).runs[0]?.sync;
    expect(next?.state).toBe("applied");
    expect(next?.resources).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
  });
});
