/**
 * The repository stays faithful to the export through the whole pipeline (export → prepare →
 * synchronize → accept), on both dialects: links whose ends arrive later, ends deleted and
 * re-created, chains of incremental and complete runs. The rule: after any sequence of runs
 * the repository (resources, links, mono-valued references and pending pairs) equals one
 * initial load of the final export, every run reports the pairs that are not links, and every
 * incremental after a successful run succeeds.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { runConnector, type RunMode } from "../../src/pipeline/run-connector.js";
import { exportConnector } from "../../src/export/export.js";
import { prepareConnector } from "../../src/prepare/prepare.js";
import { acceptPrepared, readPreviousManifest } from "../../src/prepare/previous.js";
import type { SyncupError } from "../../src/errors.js";
import type { ApplyStep } from "../../src/store/apply.js";
import { openStore, synchronize, type Store } from "../../src/sync/index.js";
import { testDatabases } from "../store/dialects.js";
import {
  CONNECTOR,
  dataset,
  snapshot,
  tempDir,
  testConfig,
  user,
  writeExport,
  type Dataset,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const RUNS = Number(process.env["SYNCUP_PROPERTY_RUNS"] ?? 8);

describe.each(databases)("a faithful repository on $dialect", (db) => {
  interface Env {
    store: Store;
    workDir: string;
  }
  async function withEnvs<T>(count: number, fn: (envs: Env[]) => Promise<T>): Promise<T> {
    const envs = await Promise.all(
      Array.from({ length: count }, async () => ({ store: await openStore(db.url()), workDir: tempDir() })),
    );
    try {
      return await fn(envs);
    } finally {
      for (const e of envs) await e.store.close();
    }
  }
  async function run(env: Env, data: Dataset, mode: RunMode) {
    await writeExport(env.workDir, data);
    const result = await runConnector(testConfig(env.workDir), env.store, CONNECTOR, mode);
    if (result.sync === null) throw new Error(`${mode}: ${result.outcome} (${result.note ?? ""})`);
    return result.sync;
  }
  /** What one initial load of `data` into an empty repository holds. */
  async function initialLoadOf(data: Dataset) {
    return withEnvs(1, async ([fresh]) => {
      await run(fresh!, data, "initial");
      return snapshot(fresh!.store);
    });
  }

  it("links to an end not exported yet stay pending, are reported at every run and resolve when it arrives", async () => {
    await withEnvs(1, async ([env]) => {
      const base = dataset(40);
      await run(env!, base, "initial");
      const late = structuredClone(base);
      late.managers = late.managers.map(([id, m]) => (id === "u0002" ? [id, "late1"] : [id, m]));
      late.members.push(["g1", "user900@example.com"]);
      const first = await run(env!, late, "incremental");
      expect(first).toMatchObject({ state: "applied", orphans: 2 });
      expect(first.orphanFiles).toHaveLength(2);

      // The export does not change: the two pairs are still unresolved, and said so.
      const again = await run(env!, late, "incremental");
      expect(again).toMatchObject({ state: "applied", orphans: 2 });
      expect(again.orphanFiles).toHaveLength(2);
      expect((await snapshot(env!.store)).pending).toEqual([
        "Manager u0002 late1 end2",
        "Membership g1 user900@example.com end2",
      ]);

      // The ends arrive: both links are made, as an initial load of the same export makes them.
      const arrived = structuredClone(late);
      arrived.users.push({ ...user(900), id: "late1" });
      const resolved = await run(env!, arrived, "incremental");
      expect(resolved).toMatchObject({ state: "applied", orphans: 0, links: { inserted: 2 } });
      expect(resolved.orphanFiles).toEqual([]);
      const held = await snapshot(env!.store);
      expect(held.mono).toContain("User:u0002 i128 User:late1");
      expect(held.links).toContain("Membership g1 user900@example.com Group:g1 User:late1");
      expect(held).toEqual(await initialLoadOf(arrived));
    });
  });

  it("an incremental after a complete that left a link unresolved succeeds", async () => {
    await withEnvs(1, async ([env]) => {
      const [a, b, c] = [user(1), user(2), user(3)];
      const all: Dataset = { users: [a, b, c], groups: [], members: [], managers: [[a.id, b.id]] };
      await run(env!, all, "initial");
      // B leaves the export; A's manager is still B: an orphan, not stored.
      const withoutB: Dataset = { ...all, users: [a, c] };
      const complete = await run(env!, withoutB, "complete");
      expect(complete).toMatchObject({ state: "applied", orphans: 1 });
      // A leaves too, and its manager row with it.
      const withoutA: Dataset = { users: [c], groups: [], members: [], managers: [] };
      const incremental = await run(env!, withoutA, "incremental");
      expect(incremental).toMatchObject({ state: "applied", orphans: 0, resources: { deleted: 1 } });
      expect(await snapshot(env!.store)).toEqual(await initialLoadOf(withoutA));
      // And the next one too.
      expect((await run(env!, all, "incremental")).state).toBe("applied");
      expect(await snapshot(env!.store)).toEqual(await initialLoadOf(all));
    });
  });

  it("a deleted end takes its links to pending; re-created, they come back", async () => {
    await withEnvs(1, async ([env]) => {
      const base = dataset(12);
      await run(env!, base, "initial");
      // u0001 manages u0002..u0004 and is in g1: it leaves the users file only.
      const gone = { ...base, users: base.users.filter((u) => u.id !== "u0001") };
      const deleted = await run(env!, gone, "incremental");
      expect(deleted.state).toBe("applied");
      expect(deleted.orphans).toBeGreaterThanOrEqual(4);
      expect(await snapshot(env!.store)).toEqual(await initialLoadOf(gone));
      const back = await run(env!, base, "incremental");
      expect(back).toMatchObject({ state: "applied", orphans: 0 });
      expect(await snapshot(env!.store)).toEqual(await initialLoadOf(base));
    });
  });

  it("any chain of incremental and complete runs ends where one initial load of the final export ends", async () => {
    const IDS = ["a", "B", "b", "é", "😀", "a;b", 'q"t', "z"];
    const GROUPS = ["g1", "G2", "g 3"];
    // Each export: which users are present (and their version), memberships and managers that
    // may point at users absent from that export (orphans that may resolve later).
    interface ExportSpec {
      users: { i: number; v: number }[];
      groups: number[];
      members: [number, number][];
      managers: [number, number][];
    }
    const exportArb: fc.Arbitrary<ExportSpec> = fc.record({
      users: fc.uniqueArray(fc.record({ i: fc.nat(IDS.length - 1), v: fc.nat(2) }), {
        selector: (u) => u.i,
        maxLength: IDS.length,
      }),
      groups: fc.uniqueArray(fc.nat(GROUPS.length - 1), { maxLength: GROUPS.length }),
      members: fc.array(fc.tuple(fc.nat(GROUPS.length - 1), fc.nat(IDS.length - 1)), { maxLength: 10 }),
      managers: fc.array(fc.tuple(fc.nat(IDS.length - 1), fc.nat(IDS.length - 1)), { maxLength: 8 }),
    });
    const toData = (e: ExportSpec) => {
      const id = (i: number) => IDS[i] ?? "?";
      const data: Dataset = {
        users: e.users.map((u) => ({ ...user(u.i, u.v), id: id(u.i), mail: `m${u.i}@example.com` })),
        groups: e.groups.map((g) => ({ name: GROUPS[g] ?? "?", label: `Label ${g}` })),
        members: [],
        managers: [],
      };
      const members = new Map(
        e.members.map(([g, u]) => [`${g} ${u}`, [GROUPS[g] ?? "?", `m${u}@example.com`]]),
      );
      data.members = [...members.values()] as [string, string][];
      // At most one manager per user; the manager may be absent from this export.
      const managers = new Map(e.managers.map(([u, m]) => [u, [id(u), id(m)] as [string, string]]));
      data.managers = [...managers.values()];
      return data;
    };
    const stepArb = fc.record({
      data: exportArb,
      mode: fc.constantFrom<"incremental" | "complete">("incremental", "incremental", "complete"),
      // A run killed in its apply (or before it), or two runs of the connector at once.
      fault: fc.constantFrom("none", "none", "kill", "overlap"),
      step: fc.constantFrom<ApplyStep>("resources", "links", "deletes"),
    });
    await fc.assert(
      fc.asyncProperty(exportArb, fc.array(stepArb, { minLength: 1, maxLength: 5 }), async (first, steps) =>
        withEnvs(1, async ([env]) => {
          const initial = await run(env!, toData(first), "initial");
          expect((await snapshot(env!.store)).pending).toHaveLength(initial.orphans + initial.monoConflicts);
          const config = testConfig(env!.workDir);
          for (const step of steps) {
            const data = toData(step.data);
            if (step.fault === "kill") {
              // Exported and prepared; the synchronization dies inside its apply transaction.
              await writeExport(env!.workDir, data);
              await exportConnector(config, CONNECTOR, step.mode);
              await prepareConnector(config, CONNECTOR, step.mode);
              const killed = synchronize({
                store: env!.store,
                config,
                connector: CONNECTOR,
                mode: step.mode,
                beforeApplyStep: (at) => {
                  if (at === step.step) throw new Error("killed");
                },
              });
              await expect(killed).rejects.toThrow("killed");
              continue;
            }
            if (step.fault === "overlap") {
              // Two runs at once: one holds the connector, the other is refused and changes nothing.
              await writeExport(env!.workDir, data);
              const both = await Promise.allSettled([
                runConnector(config, env!.store, CONNECTOR, step.mode),
                runConnector(config, env!.store, CONNECTOR, step.mode),
              ]);
              expect(both.filter((r) => r.status === "fulfilled")).toHaveLength(1);
              const refused = both.find((r) => r.status === "rejected");
              expect((refused?.reason as SyncupError).code).toBe("JOB_RUNNING");
              continue;
            }
            const report = await run(env!, data, step.mode);
            expect(report.state).toBe("applied");
            // Every pair that is not a link is reported, at every run.
            expect((await snapshot(env!.store)).pending).toHaveLength(report.orphans + report.monoConflicts);
          }
          // Whatever came before, an incremental of the last export succeeds, and ends where an
          // initial load of it ends.
          const last = toData(steps.at(-1)!.data);
          expect((await run(env!, last, "incremental")).state).toBe("applied");
          expect(await snapshot(env!.store)).toEqual(await initialLoadOf(last));
        }),
      ),
      { numRuns: RUNS },
    );
  }, 300_000);
});

describe("accept", () => {
  it("advances previous/ only to the files of the batch that was applied", async () => {
    const workDir = tempDir();
    const config = testConfig(workDir);
    await writeExport(workDir, dataset(5));
    await exportConnector(config, CONNECTOR, "complete");
    const first = await prepareConnector(config, CONNECTOR, "complete");
    await writeExport(workDir, dataset(8));
    await exportConnector(config, CONNECTOR, "complete");
    await prepareConnector(config, CONNECTOR, "complete");
    await expect(
      acceptPrepared(config, CONNECTOR, "batch-1", { preparedAt: first.manifest.preparedAt }),
    ).rejects.toMatchObject({ code: "PREVIOUS_INVALID" });
    expect(await readPreviousManifest(config, CONNECTOR)).toBeUndefined();
  });
});
