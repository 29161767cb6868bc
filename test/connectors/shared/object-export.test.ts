/**
 * The incremental engine shared by LDAP and SCIM, against a fake source: what it reads, what
 * it writes, what it keeps for the next run, and the cases real servers rarely show (a key
 * listing that misses a live object, an object listed but never reported changed).
 */
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Mode } from "../../../src/config/config.js";
import {
  exportObjects,
  type ExportedObject,
  type ObjectSource,
} from "../../../src/connectors/shared/object-export.js";
import { TableWriters } from "../../../src/connectors/shared/table-writers.js";
import { SyncupError } from "../../../src/errors.js";
import { readCsv, removeDir, tempDir } from "../helpers.js";

interface Fake {
  row: string[];
  members: string[];
  at: number;
}

class FakeSource implements ObjectSource {
  readonly objects = new Map<string, Fake>();
  /** Keys the listing forgets (offset paging under concurrent deletes). */
  readonly hiddenFromListing = new Set<string>();
  /** Keys never reported as changed (a server clock far behind). */
  readonly hiddenFromChanges = new Set<string>();
  readonly asked: string[] = [];

  private object(key: string, o: Fake): ExportedObject {
    return { key, row: o.row, links: { members: o.members }, changedAt: String(o.at) };
  }

  async *all() {
    yield await Promise.resolve([...this.objects].map(([k, o]) => this.object(k, o)));
  }
  async *changedSince(watermark: string) {
    this.asked.push(`changedSince ${watermark}`);
    yield await Promise.resolve(
      [...this.objects]
        .filter(([k, o]) => o.at >= Number(watermark) && !this.hiddenFromChanges.has(k))
        .map(([k, o]) => this.object(k, o)),
    );
  }
  async *keys() {
    yield await Promise.resolve([...this.objects.keys()].filter((k) => !this.hiddenFromListing.has(k)));
  }
  fetch(key: string) {
    this.asked.push(`fetch ${key}`);
    const o = this.objects.get(key);
    return Promise.resolve(o === undefined ? undefined : this.object(key, o));
  }
  confirmGone(key: string) {
    this.asked.push(`confirmGone ${key}`);
    return Promise.resolve(!this.objects.has(key));
  }
  parseWatermark = (raw: string) => Number(raw);
  formatWatermark = (ms: number) => String(ms);
}

let root: string;
let runs = 0;

beforeAll(async () => {
  root = await tempDir("engine");
  await mkdir(join(root, "state"));
});
afterAll(() => removeDir(root));

async function run(source: FakeSource, mode: Mode, startedMs: number, fingerprint = "f1") {
  const outputDir = join(root, `out-${++runs}`);
  await mkdir(outputDir);
  const writers = new TableWriters(outputDir, "c");
  const result = await exportObjects({
    label: "test",
    connection: "c",
    spec: {
      table: "things",
      keyColumn: "key",
      columns: ["value"],
      links: [{ table: "members", keyColumn: "key", valueColumn: "member" }],
    },
    source,
    mode,
    writers,
    stateDir: join(root, "state"),
    fingerprint,
    startedMs,
    overlapMs: 10,
  });
  await writers.commit();
  return {
    result,
    things: (await readCsv(join(outputDir, "c_things.csv"))).rows,
    members: (await readCsv(join(outputDir, "c_members.csv"))).rows,
  };
}

describe("object export engine", () => {
  const source = new FakeSource();

  it("writes a complete export and keeps a snapshot for the next incremental one", async () => {
    source.objects.set("a", { row: ["1"], members: ["x", "y"], at: 100 });
    source.objects.set("b", { row: ["2"], members: [], at: 200 });
    source.objects.set("c", { row: ["3"], members: ["x"], at: 300 });
    const first = await run(source, "complete", 1000);
    expect(first.things).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
    ]);
    expect(first.members).toEqual([
      ["a", "x"],
      ["a", "y"],
      ["c", "x"],
    ]);
    await first.result.commit();
    expect((await readdir(join(root, "state"))).sort()).toEqual([
      expect.stringMatching(/^things\.[0-9a-f]{12}\.snapshot\.jsonl$/),
      "things.state.json",
    ]);
  });

  it("writes commands for changes, deletions found by the listing, and objects only the listing shows", async () => {
    source.objects.set("a", { row: ["1"], members: ["y", "z"], at: 400 }); // links changed, row not
    source.objects.delete("b");
    source.objects.set("c", { row: ["3"], members: ["x"], at: 300 }); // re-reported (>= watermark), unchanged
    source.objects.set("d", { row: ["4"], members: ["x"], at: 500 });
    source.objects.set("e", { row: ["5"], members: [], at: 10 }); // new but stamped before the watermark
    source.hiddenFromChanges.add("e");
    const second = await run(source, "incremental", 2000);
    expect(source.asked).toContain("changedSince 300");
    expect(source.asked).toContain("fetch e");
    expect(second.things.sort()).toEqual([
      ["delete", "b", ""],
      ["insert", "d", "4"],
      ["insert", "e", "5"],
    ]);
    expect(second.members.sort()).toEqual([
      ["delete", "a", "x"],
      ["insert", "a", "z"],
      ["insert", "d", "x"],
    ]);
    await second.result.commit();
  });

  it("keeps an object the listing missed but the source confirms, and does not advance without commit", async () => {
    source.hiddenFromListing.add("a");
    source.asked.length = 0;
    const third = await run(source, "incremental", 3000);
    expect(source.asked).toContain("confirmGone a");
    expect(third.things).toEqual([]);
    expect(third.members).toEqual([]);
    // Not committed: the next run starts from the same watermark.
    source.hiddenFromListing.clear();
    source.asked.length = 0;
    await run(source, "incremental", 3000);
    expect(source.asked).toContain("changedSince 500");
  });

  it("refuses an incremental export made with other settings", async () => {
    await expect(run(source, "incremental", 4000, "f2")).rejects.toSatisfy(
      (e: unknown) => e instanceof SyncupError && e.code === "CONNECTOR_STATE_INVALID",
    );
  });
});
