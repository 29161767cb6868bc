/**
 * The README's review tour with the real binary on the quickstart example: half the HR people
 * leave, the run is blocked, the deletes are listed with their old values, half are approved
 * by a keys file and the rest rejected, the batch is applied in part (who decided is shown),
 * then undone: the repository is back as it was. Also: a dry run keeps its changes for review
 * and exits 3 when a real run would be blocked.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { quickstart, syncup } from "./binary.js";

const dir = mkdtempSync(join(tmpdir(), "syncup-review-cli-"));
const config = quickstart(dir);
const hrFolder = join(dir, "hr");
const hrFile = join(hrFolder, readdirSync(hrFolder)[0]!);

/** The HR extract without every second person (and the manager ids that named them). */
function halveHr(): string[] {
  const [title, header, ...rows] = readFileSync(hrFile, "latin1")
    .split(/\r?\n/)
    .filter((l) => l !== "");
  const kept = rows.filter((_, i) => i % 2 === 0);
  const gone = rows.filter((_, i) => i % 2 === 1).map((r) => r.split(",")[0]!);
  const goneSet = new Set(gone);
  const fixed = kept.map((r) => {
    const cells = r.split(",");
    if (goneSet.has(cells[7] ?? "")) cells[7] = "";
    return cells.join(",");
  });
  writeFileSync(hrFile, [title, header, ...fixed, ""].join("\r\n"), "latin1");
  return gone;
}

/** What the repository holds of a connector, by key: values and mono-valued references (ids differ after an undo). */
function resourcesOf(connector: string): string[] {
  const list = syncup(
    ["resources", "list", "--connector", connector, "--limit", "1000", "--json", "--config", config],
    dir,
  );
  expect(list.code).toBe(0);
  const rows = JSON.parse(list.stdout) as {
    id: number;
    pk: string;
    properties: object;
    mono: Record<string, number>;
  }[];
  const pkOf = new Map(rows.map((r) => [r.id, r.pk]));
  return rows
    .map(
      (r) =>
        `${r.pk} ${JSON.stringify(r.properties)} ${Object.values(r.mono)
          .map((id) => pkOf.get(id))
          .join(",")}`,
    )
    .sort();
}

describe("review and decision with the syncup binary", () => {
  it("blocks, lists the deletes with their values, applies half by keys file, shows who decided, undoes", () => {
    expect(syncup(["run", "--config", config, "--no-progress"], dir).code).toBe(0);
    const before = resourcesOf("HR");
    const gone = halveHr();

    const preview = syncup(
      ["run", "--config", config, "--connector", "HR", "--dry-run", "--no-progress"],
      dir,
    );
    expect(preview.code).toBe(3);
    expect(preview.stdout).toMatch(/a real run would be BLOCKED by/);
    expect(preview.stdout).toMatch(/MaxPercentageDeletedLines.*%/);
    expect(resourcesOf("HR")).toEqual(before);

    const blocked = syncup(["run", "--config", config, "--connector", "HR", "--json", "--no-progress"], dir);
    expect(blocked.code).toBe(3);
    const batchId = (JSON.parse(blocked.stdout) as { runs: { sync: { batchId: string } }[] }).runs[0]!.sync
      .batchId;

    const deletes = syncup(
      [
        "batches",
        "changes",
        batchId,
        "--operation",
        "delete",
        "--entity-type",
        "Person",
        "--limit",
        "5",
        "--config",
        config,
      ],
      dir,
    );
    expect(deletes.code).toBe(0);
    expect(deletes.stdout).toContain(`${gone.length} changes match.`);
    expect(deletes.stdout).toMatch(/email=\S+@example\.com/);
    expect(deletes.stdout).toMatch(/--after [A-Za-z0-9_-]+ /);

    const approve = gone.slice(0, Math.floor(gone.length / 2));
    const keysFile = join(dir, "approved.txt");
    writeFileSync(keysFile, `${approve.join("\n")}\n`);
    const approved = syncup(
      ["batches", "approve", batchId, "--keys-file", keysFile, "--config", config],
      dir,
    );
    expect(approved.stderr).toBe("");
    expect(approved.stdout).toContain(`${approve.length} changes approved.`);
    const rejected = syncup(
      [
        "batches",
        "reject",
        batchId,
        "--operation",
        "delete",
        "--entity-type",
        "Person",
        "--decision",
        "undecided",
        "--config",
        config,
      ],
      dir,
    );
    expect(rejected.stdout).toContain(`${gone.length - approve.length} changes rejected.`);

    const applied = syncup(["batches", "apply", batchId, "--rest", "approve", "--config", config], dir);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    // The rejected deletes, and the removals of their manager links with them.
    expect(applied.stdout).toMatch(/Applied \d+ changes, rejected \d+/);
    expect(applied.stdout).toContain('previous/ of connector "HR" stays as it was');
    const me = userInfo().username;
    expect(applied.stdout).toContain(`decided by ${me}`);

    const show = syncup(["batches", "show", batchId, "--config", config], dir);
    expect(show.stdout).toMatch(/Decided: \d+ approved, \d+ rejected \(applied in part/);
    expect(show.stdout).toMatch(/approve/);
    expect(show.stdout).toMatch(/reject/);
    const held = resourcesOf("HR").map((r) => r.split(" ")[0]);
    expect(held).not.toContain(approve[0]);
    expect(held).toContain(gone[gone.length - 1]);

    // A bad decision: clear error, exit 2, nothing changed.
    const twice = syncup(["batches", "apply", batchId, "--config", config], dir);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/only a blocked or previewed batch/);

    // The undo brings back 75 people: past the 5 % insert threshold, it waits for a decision too.
    const undone = syncup(["batches", "undo", batchId, "--json", "--config", config], dir);
    expect(undone.stderr).toBe("");
    expect(undone.code).toBe(3);
    const undo = JSON.parse(undone.stdout) as { batchId: string; state: string; undoOf: string };
    expect(undo).toMatchObject({ state: "blocked", undoOf: batchId });
    const validated = syncup(["batches", "validate", undo.batchId, "--config", config], dir);
    expect(validated.code).toBe(0);
    expect(resourcesOf("HR")).toEqual(before);
  });
});
