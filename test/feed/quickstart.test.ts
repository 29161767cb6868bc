/**
 * The README's change feed tour with the real binary on a copy of the quickstart: the first
 * run's events, then `changes tail --follow` printing the change of the second run as it
 * commits, and `--json` with before → after.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { ChangeEvent } from "../../src/protocol/change-feed.js";
import { root, sleep, syncup, waitFor } from "../e2e/harness.js";

it("the quickstart tour: tail --follow prints the second run's change", async () => {
  const dir = mkdtempSync(join(tmpdir(), "syncup-feed-tour-"));
  try {
    cpSync(join(root, "examples"), join(dir, "examples"), { recursive: true });
    mkdirSync(join(dir, "data"));
    const cfg = "examples/quickstart/syncup.yaml";
    const first = await syncup(["run", "--config", cfg], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const all = await syncup(["changes", "tail", "--config", cfg], { cwd: dir });
    const lines = all.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(1000);
    const last = Number(lines.at(-1)?.split("\t")[0]);
    expect(last).toBe(lines.length);

    const follow = spawn(
      process.execPath,
      [
        join(root, "bin", "syncup.js"),
        "changes",
        "tail",
        "--config",
        cfg,
        "--follow",
        "--after",
        String(last),
      ],
      {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let followed = "";
    follow.stdout.on("data", (d: Buffer) => (followed += d.toString()));
    try {
      await sleep(500);
      const hr = join(dir, "examples/quickstart/hr/hr_people_20261126.csv");
      writeFileSync(hr, readFileSync(hr, "latin1").replace("ydubois1@", "yasmine.dubois@"), "latin1");
      const second = await syncup(["run", "--config", cfg, "--connector", "HR"], { cwd: dir });
      expect(second.code, second.stderr).toBe(0);
      await waitFor(
        "the followed change",
        () => Promise.resolve(followed.includes("\n") ? true : undefined),
        10_000,
      );
      expect(followed).toMatch(
        new RegExp(
          `^${last + 1}\\tHR\\tupdate Person 00001 \\(email\\)\\t\\(incremental [0-9a-f-]+, automatic\\)\\n$`,
        ),
      );
    } finally {
      follow.kill("SIGKILL");
    }
    const json = await syncup(["changes", "tail", "--config", cfg, "--after", String(last), "--json"], {
      cwd: dir,
    });
    const event = JSON.parse(json.stdout) as ChangeEvent;
    expect(event).toMatchObject({
      kind: "resource",
      operation: "update",
      entityType: "Person",
      key: "00001",
    });
    if (event.kind !== "resource") throw new Error("not a resource event");
    expect(event.before?.properties["email"]).toBe("ydubois1@example.com");
    expect(event.after?.properties["email"]).toBe("yasmine.dubois@example.com");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
