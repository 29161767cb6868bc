import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { exitCodeOf } from "../../src/cli/exit-codes.js";
import {
  cancelBatch,
  openStore,
  resourceHistory,
  synchronize,
  validateBatch,
  type Store,
} from "../../src/sync/index.js";
import type { SynchronizeOptions } from "../../src/sync/types.js";
import { testDatabases } from "../store/dialects.js";
import {
  CONNECTOR,
  dataset,
  snapshot,
  tempDir,
  testConfig,
  user,
  writeComplete,
  writeIncremental,
  type Dataset,
  type TestConfigOptions,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("thresholds and batches on $dialect", (db) => {
  let store: Store;
  let workDir: string;
  beforeEach(async () => {
    store = await openStore(db.url());
    workDir = tempDir();
    return async () => store.close();
  });
  const sync = (
    mode: SynchronizeOptions["mode"],
    config: TestConfigOptions = {},
    extra: Partial<SynchronizeOptions> = {},
  ) => synchronize({ store, config: testConfig(workDir, config), connector: CONNECTOR, mode, ...extra });

  /** 20 users (3 groups), loaded; then `next` written as a complete export. */
  async function loaded(next: (data: Dataset) => Dataset): Promise<Dataset> {
    const data = dataset(20);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const changed = next(data);
    await writeComplete(workDir, changed);
    return changed;
  }
  const plusUsers = (n: number) => (d: Dataset) => ({
    ...d,
    users: [...d.users, ...Array.from({ length: n }, (_, i) => user(100 + i))],
  });

  it.each([
    ["connector", { thresholds: { MaximumInsertedLines: 3 } }],
    ["entity type", { userThresholds: { MaximumInsertedLines: 3 } }],
    ["entity type rate", { userThresholds: { MaxPercentageInsertedLines: 15 } }], // 3 of 20 users
  ] as const)("a %s threshold passes at its limit", async (_, config) => {
    await loaded(plusUsers(3));
    expect((await sync("complete", config)).state).toBe("applied");
  });

  it.each([
    ["connector", { thresholds: { MaximumInsertedLines: 3 } }, "connector", 4],
    ["entity type", { userThresholds: { MaximumInsertedLines: 3 } }, "entity-type", 4],
    ["entity type rate", { userThresholds: { MaxPercentageInsertedLines: 15 } }, "entity-type", 20],
  ] as const)(
    "a %s threshold blocks one past its limit: nothing applied",
    async (_, config, level, actual) => {
      await loaded(plusUsers(4));
      const before = await snapshot(store);
      const report = await sync("complete", config);
      expect(report.state).toBe("blocked");
      expect(report.crossed).toEqual([expect.objectContaining({ level, actual, crossed: true })]);
      expect(await snapshot(store)).toEqual(before);
      const page = await store.changePages.page(report.batchId, { operation: "insert", limit: 10 });
      expect(page.total).toBe(4);
      expect(page.rows.map((r) => r.key)).toEqual(["u0100", "u0101", "u0102", "u0103"]);
    },
  );

  it("an association threshold counts link changes, mono-valued ones included", async () => {
    await loaded((d) => ({
      ...d,
      managers: d.managers.map(([id, m]) => [id, id === "u0010" || id === "u0011" ? "u0020" : m]),
    }));
    // Manager changes of two users: 2 links removed and 2 inserted (mono-valued, column 128).
    expect(
      (await sync("complete", { thresholds: { MaximumLinkInsertedLines: 2 } }, { dryRun: true })).state,
    ).toBe("previewed");
    const report = await sync("complete", { thresholds: { MaximumLinkInsertedLines: 1 } });
    expect(report.state).toBe("blocked");
    expect(report.crossed).toEqual([
      expect.objectContaining({ threshold: "MaximumLinkInsertedLines", actual: 2 }),
    ]);
  });

  it("an association mapping threshold applies to its own links", async () => {
    await loaded((d) => ({
      ...d,
      members: [...d.members, ["g1", "user2@example.com"], ["g1", "user3@example.com"]],
    }));
    const ok = await sync(
      "complete",
      { membershipThresholds: { MaximumLinkInsertedLines: 2 } },
      { dryRun: true },
    );
    expect(ok.crossed).toEqual([]);
    const blocked = await sync("complete", { membershipThresholds: { MaximumLinkInsertedLines: 1 } });
    expect(blocked.crossed).toEqual([
      expect.objectContaining({ level: "association", scope: "Membership", actual: 2 }),
    ]);
  });

  it("blocks an empty complete export of a populated connector with the default thresholds", async () => {
    await loaded(() => ({ users: [], groups: [], members: [], managers: [] }));
    const before = await snapshot(store);
    const report = await sync("complete", { thresholds: "defaults" });
    expect(report.state).toBe("blocked");
    expect(report.crossed.map((c) => c.threshold)).toContain("MaxPercentageDeletedLines");
    expect(report.resources.deleted).toBe(23);
    expect(await snapshot(store)).toEqual(before);
  });

  it("validating a blocked batch applies exactly what a forced run applies", async () => {
    const next = await loaded((d) => ({
      ...plusUsers(5)(d),
      users: [...d.users.slice(2).map((u) => (u.id === "u0005" ? user(5, 2) : u)), user(200)],
      managers: d.managers.filter(([id]) => id !== "u0003"),
    }));
    const blocked = await sync("complete", { thresholds: { MaximumDeletedLines: 1 } });
    expect(blocked.state).toBe("blocked");
    const validated = await validateBatch(store, blocked.batchId, { config: testConfig(workDir) });
    expect(validated.state).toBe("applied");
    expect((await store.batches.get(blocked.batchId))?.state).toBe("applied");

    const twin = await openStore(db.url());
    const twinDir = tempDir();
    try {
      await writeComplete(twinDir, dataset(20), "initial");
      await synchronize({ store: twin, config: testConfig(twinDir), connector: CONNECTOR, mode: "initial" });
      await writeComplete(twinDir, next);
      const forced = await synchronize({
        store: twin,
        config: testConfig(twinDir, { thresholds: { MaximumDeletedLines: 1 } }),
        connector: CONNECTOR,
        mode: "complete",
        force: true,
      });
      expect(forced.state).toBe("applied");
      expect(forced.crossed).toHaveLength(1);
      expect(await snapshot(store)).toEqual(await snapshot(twin));
    } finally {
      await twin.close();
    }
    await expect(
      validateBatch(store, blocked.batchId, { config: testConfig(workDir) }),
    ).rejects.toMatchObject({ code: "BATCH_STATE" });
  });

  it("cancelling a blocked batch discards its staged changes", async () => {
    await loaded(plusUsers(4));
    const before = await snapshot(store);
    const report = await sync("complete", { thresholds: { MaximumInsertedLines: 1 } });
    const cancelled = await cancelBatch(store, report.batchId);
    expect(cancelled.state).toBe("cancelled");
    expect((await store.changePages.page(report.batchId, { limit: 10 })).total).toBe(0);
    expect(await snapshot(store)).toEqual(before);
    await expect(cancelBatch(store, "no-such-batch")).rejects.toMatchObject({ code: "BATCH_NOT_FOUND" });
  });

  it("refuses an incremental while a batch is blocked; a complete supersedes it", async () => {
    const data = await loaded(plusUsers(4));
    const blocked = await sync("complete", { thresholds: { MaximumInsertedLines: 1 } });
    await writeIncremental(workDir, dataset(20), data);
    const error = await sync("incremental").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CONNECTOR_BLOCKED" });
    expect((error as Error).message).toContain(blocked.batchId);
    expect((error as Error).message).toMatch(/validate.*cancel.*complete/s);
    expect(exitCodeOf(error)).toBe(3);

    await writeComplete(workDir, data);
    const complete = await sync("complete");
    expect(complete.state).toBe("applied");
    expect((await store.batches.get(blocked.batchId))?.state).toBe("superseded");
    expect((await store.changePages.page(blocked.batchId, { limit: 10 })).total).toBe(0);
  });

  it("a failure in the middle of the apply leaves the repository as it was", async () => {
    await loaded((d) => ({ ...d, users: [...d.users.slice(1), user(300)], members: d.members.slice(2) }));
    const before = await snapshot(store);
    for (const step of ["links", "deletes"] as const) {
      const error = await sync(
        "complete",
        {},
        {
          beforeApplyStep: (s) => {
            if (s === step) throw new Error(`injected failure before ${s}`);
          },
        },
      ).catch((e: unknown) => e);
      expect((error as Error).message).toBe(`injected failure before ${step}`);
      expect(await snapshot(store)).toEqual(before);
    }
    const [last] = await store.batches.list({ connector: CONNECTOR, limit: 1 });
    expect(last).toMatchObject({ state: "failed", error: "injected failure before deletes" });

    const blocked = await sync("complete", { thresholds: { MaximumLinkDeletedLines: 1 } });
    expect(blocked.state).toBe("blocked");
    await expect(
      validateBatch(store, blocked.batchId, {
        config: testConfig(workDir),
        beforeApplyStep: (s) => {
          if (s === "deletes") throw new Error("injected");
        },
      }),
    ).rejects.toThrow("injected");
    expect(await snapshot(store)).toEqual(before);
    expect((await store.batches.get(blocked.batchId))?.state).toBe("blocked");
    expect((await validateBatch(store, blocked.batchId, { config: testConfig(workDir) })).state).toBe(
      "applied",
    );
  });

  it("marks a batch interrupted while staging as failed and discards what it staged", async () => {
    await loaded(plusUsers(2));
    await store.batches.create({
      id: "interrupted",
      connector: CONNECTOR,
      mode: "complete",
      dryRun: false,
      forced: false,
      source: null,
      preparedAt: null,
      baseBatch: null,
    });
    await store.changes.stageResources("interrupted", [
      {
        operation: "delete",
        entityType: "User",
        pk: "u0001",
        uks: [null, null, null],
        hash: null,
        properties: null,
        sourceHash: null,
        resourceId: 1,
        relinks: true,
        line: null,
      },
    ]);
    const report = await sync("complete");
    expect(report.resources).toMatchObject({ inserted: 2, deleted: 0 });
    expect(await store.batches.get("interrupted")).toMatchObject({
      state: "failed",
      error: "interrupted while staging",
    });
    expect((await store.changePages.page("interrupted", { limit: 10 })).total).toBe(0);
  });

  it("fails a whole incremental batch on a conversion error, applying nothing", async () => {
    const data = dataset(5);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const before = await snapshot(store);
    const next: Dataset = {
      ...data,
      users: [...data.users.map((u) => (u.id === "u0002" ? { ...user(2, 1), active: "maybe" } : u)), user(6)],
    };
    await writeIncremental(workDir, data, next);
    const error = await sync("incremental").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CONVERSION_FAILED" });
    expect((error as Error).message).toContain(
      '"User.sorted.delta" line 2, column 6 (active): "maybe" is not bool (Y/N)',
    );
    expect(await snapshot(store)).toEqual(before);
  });

  it("keeps one link per resource for a mono-valued association and reports the others", async () => {
    const data = dataset(6);
    data.managers.push(["u0002", "u0006"]); // u0002 already has a manager (u0001)
    await writeComplete(workDir, data, "initial");
    const initial = await sync("initial");
    expect(initial.monoConflicts).toBe(1);
    await writeComplete(workDir, data);
    const complete = await sync("complete");
    expect(complete).toMatchObject({ monoConflicts: 1, links: { inserted: 0, deleted: 0 } });
    const [u2] = await store.resources.get(CONNECTOR, "u0002", "User");
    const [u1] = await store.resources.get(CONNECTOR, "u0001", "User");
    const [u6] = await store.resources.get(CONNECTOR, "u0006", "User");
    expect(u2?.mono[128]).toBe(u1?.id);

    // The stored link loses to one that comes first in the file: it is replaced.
    await writeComplete(workDir, {
      ...data,
      managers: data.managers.filter(([id, m]) => id !== "u0002" || m === "u0006"),
    });
    await sync("complete");
    expect((await store.resources.get(CONNECTOR, "u0002", "User"))[0]?.mono[128]).toBe(u6?.id);
    await writeComplete(workDir, data);
    expect(await sync("complete")).toMatchObject({ monoConflicts: 1, links: { inserted: 1, deleted: 1 } });
    expect((await store.resources.get(CONNECTOR, "u0002", "User"))[0]?.mono[128]).toBe(u1?.id);
  });

  it("keeps a journal of applied batches", async () => {
    await loaded((d) => ({ ...d, users: d.users.map((u) => (u.id === "u0004" ? user(4, 1) : u)) }));
    const report = await sync("complete");
    const history = (await resourceHistory(store, CONNECTOR, "u0004")).filter(
      (h) => h.change.kind === "resource",
    );
    expect(history.map((h) => [h.mode, h.change.operation])).toEqual([
      ["initial", "insert"],
      ["complete", "update"],
    ]);
    expect(history[1]).toMatchObject({ batchId: report.batchId, decidedBy: [] });
    expect(history[1]?.change.before?.["name"]).toBe("User 4");
    expect(history[1]?.change.after?.["name"]).toBe("User 4 v1");
    expect(history[0]?.change.after?.["name"]).toBe("User 4");
  });
});
