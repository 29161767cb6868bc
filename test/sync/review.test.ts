/**
 * Review and decision on both databases: before → after pages, partial approval and its
 * consistency rules, apply as decided, undo, kept previews, and the properties that tie them
 * together (approve all = validate, approve none = cancel, partial then complete = the rejected
 * changes again, apply then undo = the repository as before).
 */
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.js";
import type { ChangeRow } from "../../src/protocol/api.js";
import {
  applyDecided,
  decideBatch,
  openStore,
  synchronize,
  undoBatch,
  validateBatch,
  type Actor,
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
  withoutUsers,
  type Dataset,
  type TestConfigOptions,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const ALICE: Actor = { id: "alice", role: "approver" };
const BOB: Actor = { id: "bob", role: "approver" };
const BLOCK_DELETES = { thresholds: { MaximumDeletedLines: 1 } };
const RUNS = Number(process.env["SYNCUP_PROPERTY_RUNS"] ?? 8);

describe.each(databases)("review and decision on $dialect", (db) => {
  let store: Store;
  let workDir: string;
  beforeEach(async () => {
    store = await openStore(db.url());
    workDir = tempDir();
    return async () => store.close();
  });
  const configOf = (options: TestConfigOptions = {}): Config => testConfig(workDir, options);
  const sync = (
    mode: SynchronizeOptions["mode"],
    options: TestConfigOptions = {},
    extra: Partial<SynchronizeOptions> = {},
  ) => synchronize({ store, config: configOf(options), connector: CONNECTOR, mode, ...extra });

  async function loaded(n = 20): Promise<Dataset> {
    const data = dataset(n);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    return data;
  }

  /** Every change of a batch, page after page. */
  async function allChanges(batchId: string, query: { limit?: number } & Record<string, unknown> = {}) {
    const rows: ChangeRow[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.changePages.page(batchId, {
        limit: 7,
        ...query,
        ...(after === undefined ? {} : { after }),
      });
      rows.push(...page.rows);
      if (page.next === null) return rows;
      after = page.next;
    }
  }

  it("shows a blocked batch's updates and deletes before → after, filtered and paged by key", async () => {
    const data = await loaded();
    const changed = withoutUsers(data, ["u0003", "u0004"]);
    changed.users = changed.users.map((u) => (u.id === "u0005" ? user(5, 1) : u));
    await writeComplete(workDir, changed);
    const report = await sync("complete", BLOCK_DELETES);
    expect(report.state).toBe("blocked");

    const rows = await allChanges(report.batchId);
    const first = await store.changePages.page(report.batchId, { limit: 7 });
    expect(first.total).toBe(rows.length);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    const update = rows.find((r) => r.kind === "resource" && r.operation === "update");
    expect(update).toMatchObject({ key: "u0005", entityType: "User" });
    expect(update?.before?.["name"]).toBe("User 5");
    expect(update?.after?.["name"]).toBe("User 5 v1");
    expect(update?.changed).toEqual(expect.arrayContaining(["name"]));
    const deleted = rows.filter((r) => r.kind === "resource" && r.operation === "delete");
    expect(deleted.map((r) => r.key).sort()).toEqual(["u0003", "u0004"]);
    for (const d of deleted) {
      expect(d.after).toBeNull();
      expect(d.before?.["mail"]).toBe(`user${Number(d.key.slice(1))}@example.com`);
    }
    const linkDeletes = rows.filter((r) => r.kind === "link" && r.operation === "delete");
    expect(linkDeletes.length).toBeGreaterThan(0);
    for (const l of linkDeletes) expect(l.link?.end1Key ?? l.link?.end2Key).not.toBeNull();

    expect(
      (await allChanges(report.batchId, { operation: "delete", kind: "resource" })).map((r) => r.key),
    ).toEqual(deleted.map((r) => r.key));
    expect((await allChanges(report.batchId, { keyPrefix: "u000", kind: "resource" })).length).toBe(3);
    expect((await allChanges(report.batchId, { property: "name" })).map((r) => r.key)).toEqual(["u0005"]);
    expect((await allChanges(report.batchId, { property: "mail" })).length).toBe(0);
    await expect(store.changePages.page(report.batchId, { limit: 5, after: "x1" })).rejects.toMatchObject({
      code: "REQUEST_INVALID",
    });
  });

  it("applies exactly the approved part; rejecting a delete keeps the resource's links; the next complete proposes the rest again", async () => {
    const data = await loaded();
    const gone = ["u0002", "u0003", "u0004", "u0005"];
    const changed = withoutUsers(data, gone);
    await writeComplete(workDir, changed);
    const blocked = await sync("complete", BLOCK_DELETES);
    expect(blocked.state).toBe("blocked");

    await decideBatch(store, blocked.batchId, ALICE, "approved", {
      keys: ["u0002", "u0003"],
      kind: "resource",
    });
    const rejected = await decideBatch(store, blocked.batchId, BOB, "rejected", {
      operation: "delete",
      kind: "resource",
      decision: "undecided",
    });
    expect(rejected.matched).toBe(2);
    // The removal of the kept users' links is rejected with them.
    const keptLinks = (await allChanges(blocked.batchId, { kind: "link", decision: "rejected" })).length;
    expect(keptLinks).toBeGreaterThan(0);
    await expect(applyDecided(store, configOf(BLOCK_DELETES), blocked.batchId, ALICE)).rejects.toMatchObject({
      code: "DECISION_INCOMPLETE",
    });
    const report = await applyDecided(store, configOf(BLOCK_DELETES), blocked.batchId, ALICE, {
      rest: "approved",
    });
    expect(report.review).toMatchObject({ partial: true, decidedBy: ["alice", "bob"] });
    expect(report.review?.crossedByApproved).toEqual([
      expect.objectContaining({ threshold: "MaximumDeletedLines", actual: 2, limit: 1 }),
    ]);
    const batch = await store.batches.get(blocked.batchId);
    expect(batch).toMatchObject({ state: "applied", partial: true, resourcesDeleted: 2 });
    expect((await store.journal.decisions(blocked.batchId)).map((d) => [d.principal, d.action])).toEqual([
      ["alice", "approve"],
      ["bob", "reject"],
      ["alice", "apply"],
    ]);
    const held = (await snapshot(store)).resources.map((r) => r.split(" ")[0]);
    expect(held).not.toContain("User:u0002");
    expect(held).toContain("User:u0004");
    expect((await snapshot(store)).links.some((l) => l.includes("User:u0004"))).toBe(true);

    // An incremental cannot be based on a batch applied in part.
    await writeIncremental(workDir, changed, changed);
    await expect(sync("incremental")).rejects.toMatchObject({ code: "BASE_MISMATCH" });
    // The complete of the same export proposes exactly the rejected changes again.
    await writeComplete(workDir, changed);
    const again = await sync("complete", BLOCK_DELETES);
    const proposed = await allChanges(again.batchId, { kind: "resource" });
    expect(proposed.map((r) => `${r.operation} ${r.key}`).sort()).toEqual(["delete u0004", "delete u0005"]);
    // The kept users' links come again, but for those to the deleted users, which went with them.
    expect(again.links.deleted).toBeGreaterThan(0);
    expect(again.links.deleted).toBeLessThanOrEqual(keptLinks);
  });

  it("refuses bad decisions with a clear error and changes nothing", async () => {
    const data = await loaded();
    const changed = withoutUsers(data, ["u0002", "u0003"]);
    changed.users.push(user(50));
    changed.members.push(["g1", user(50).mail]);
    await writeComplete(workDir, changed);
    const blocked = await sync("complete", BLOCK_DELETES);
    const before = await allChanges(blocked.batchId);

    await expect(
      decideBatch(store, blocked.batchId, ALICE, "approved", { ids: ["r999999"] }),
    ).rejects.toMatchObject({
      code: "CHANGE_NOT_FOUND",
    });
    await expect(
      decideBatch(store, blocked.batchId, ALICE, "approved", { keys: ["u0002", "nobody"] }),
    ).rejects.toThrow(/"nobody"/);
    await expect(
      decideBatch(store, blocked.batchId, ALICE, "approved", { entityType: "NoSuchType" }),
    ).rejects.toMatchObject({ code: "SELECTION_EMPTY" });
    // Rejecting an insert rejects the link that needs it; approving that link again is refused.
    await decideBatch(store, blocked.batchId, ALICE, "rejected", { keys: ["u0050"] });
    const link = (await allChanges(blocked.batchId, { kind: "link", operation: "insert" }))[0];
    expect(link?.decision).toBe("rejected");
    await expect(
      decideBatch(store, blocked.batchId, ALICE, "approved", { ids: [link!.id] }),
    ).rejects.toMatchObject({ code: "DECISION_INCONSISTENT" });
    expect((await allChanges(blocked.batchId)).filter((r) => r.decision === "approved")).toEqual([]);
    expect((await allChanges(blocked.batchId)).map((r) => r.id)).toEqual(before.map((r) => r.id));

    const before2 = await snapshot(store);
    // A crash in the middle of the apply leaves the repository and the batch as they were.
    await expect(
      applyDecided(store, configOf(BLOCK_DELETES), blocked.batchId, ALICE, {
        rest: "approved",
        beforeApplyStep: (step) => {
          if (step === "deletes") throw new Error("injected crash");
        },
      }),
    ).rejects.toThrow("injected crash");
    expect(await snapshot(store)).toEqual(before2);
    expect((await store.batches.get(blocked.batchId))?.state).toBe("blocked");

    await applyDecided(store, configOf(BLOCK_DELETES), blocked.batchId, ALICE, { rest: "approved" });
    await expect(
      decideBatch(store, blocked.batchId, ALICE, "approved", { operation: "delete" }),
    ).rejects.toMatchObject({ code: "BATCH_STATE" });
    await expect(applyDecided(store, configOf(), blocked.batchId, ALICE)).rejects.toMatchObject({
      code: "BATCH_STATE",
    });
  });

  it("undoes a batch back to the repository before it, and the undo too", async () => {
    const data = await loaded();
    const before = await snapshot(store);
    const changed = withoutUsers(data, ["u0002", "u0007"]);
    changed.users = changed.users.map((u) => (u.id === "u0005" ? user(5, 2) : u));
    changed.users.push(user(60));
    changed.members.push(["g2", user(60).mail]);
    changed.managers.push([user(60).id, "u0001"]);
    await writeComplete(workDir, changed);
    const applied = await sync("complete");
    expect(applied.state).toBe("applied");
    const after = await snapshot(store);

    const undo = await undoBatch(store, configOf(), applied.batchId, ALICE);
    expect(undo.state).toBe("applied");
    expect(await snapshot(store)).toEqual(before);
    expect((await store.batches.get(undo.batchId))?.undoOf).toBe(applied.batchId);
    // The next run is a complete: an incremental cannot be based on an undo.
    await writeIncremental(workDir, changed, changed);
    await expect(sync("incremental")).rejects.toMatchObject({ code: "BASE_MISMATCH" });

    const redo = await undoBatch(store, configOf(), undo.batchId, BOB);
    expect(redo.state).toBe("applied");
    expect(await snapshot(store)).toEqual(after);
    expect((await store.journal.decisions(applied.batchId)).map((d) => [d.principal, d.action])).toEqual([
      ["alice", "undo"],
    ]);
  });

  it("refuses to undo what a later batch changed, unless forced; an undo passes the thresholds", async () => {
    const data = await loaded();
    const first = { ...data, users: data.users.map((u) => (u.id === "u0005" ? user(5, 1) : u)) };
    await writeComplete(workDir, first);
    const a = await sync("complete");
    const second = { ...first, users: first.users.map((u) => (u.id === "u0005" ? user(5, 2) : u)) };
    await writeComplete(workDir, second);
    await sync("complete");
    const error = await undoBatch(store, configOf(), a.batchId, ALICE).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "UNDO_CONFLICT" });
    expect((error as Error).message).toContain('"u0005"');
    const forced = await undoBatch(store, configOf(), a.batchId, ALICE, { force: true });
    expect(forced.state).toBe("applied");
    expect((await snapshot(store)).resources.find((r) => r.startsWith("User:u0005"))).toContain('"User 5"');

    const third = withoutUsers(second, ["u0009", "u0010"]);
    await writeComplete(workDir, third);
    const deleting = await sync("complete");
    const undo = await undoBatch(
      store,
      configOf({ thresholds: { MaximumInsertedLines: 1 } }),
      deleting.batchId,
      ALICE,
    );
    expect(undo.state).toBe("blocked");
    expect(undo.crossed).toEqual([expect.objectContaining({ threshold: "MaximumInsertedLines", actual: 2 })]);
    await validateBatch(store, undo.batchId, { actor: BOB, config: configOf() });
    expect((await snapshot(store)).resources.some((r) => r.startsWith("User:u0009"))).toBe(true);
  });

  it("undoes an initial load: nothing of the connector is left, and it loads again", async () => {
    await loaded();
    const initial = await store.batches.lastApplied(CONNECTOR);
    const undo = await undoBatch(store, configOf(), initial!.id, ALICE);
    expect(undo.resources.deleted).toBe(23); // 20 users, 3 groups
    expect(await snapshot(store)).toEqual({ resources: [], links: [], mono: [], pending: [] });
    await writeComplete(workDir, dataset(20), "initial");
    expect((await sync("initial")).state).toBe("applied");
  });

  it("keeps a preview for review: thresholds with limit and actual, its changes, applied as decided", async () => {
    const data = await loaded();
    const changed = withoutUsers(data, ["u0002", "u0003"]);
    await writeComplete(workDir, changed);
    const before = await snapshot(store);
    const preview = await sync("complete", BLOCK_DELETES, { dryRun: true });
    expect(preview.state).toBe("previewed");
    expect(preview.crossed).toEqual([
      expect.objectContaining({ threshold: "MaximumDeletedLines", limit: 1, actual: 2 }),
    ]);
    expect(await snapshot(store)).toEqual(before);
    const batch = await store.batches.get(preview.batchId);
    expect(Date.parse(batch!.expiresAt!)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect((await allChanges(preview.batchId, { kind: "resource" })).map((r) => r.key)).toEqual([
      "u0002",
      "u0003",
    ]);

    await decideBatch(store, preview.batchId, ALICE, "rejected", { keys: ["u0003"] });
    await applyDecided(store, configOf(BLOCK_DELETES), preview.batchId, ALICE, { rest: "approved" });
    const held = (await snapshot(store)).resources.map((r) => r.split(" ")[0]);
    expect(held).not.toContain("User:u0002");
    expect(held).toContain("User:u0003");

    // A preview made out of date by a later batch cannot be applied; an expired one is discarded.
    const stale = await sync("complete", {}, { dryRun: true });
    await writeComplete(workDir, dataset(20));
    await sync("complete");
    await expect(
      validateBatch(store, stale.batchId, { actor: ALICE, config: configOf() }),
    ).rejects.toMatchObject({
      code: "BATCH_SUPERSEDED",
    });
    const expiring = await sync("complete", {}, { dryRun: true, previewHours: -1 });
    await sync("complete");
    expect((await store.batches.get(expiring.batchId))?.state).toBe("cancelled");
    expect((await store.changePages.page(expiring.batchId, { limit: 5 })).rows).toEqual([]);
  });

  it("the four-eyes rule: a connector that needs two approvers applies only once a second one decides", async () => {
    const data = await loaded();
    await writeComplete(workDir, withoutUsers(data, ["u0002", "u0003"]));
    const fourEyes = { ...BLOCK_DELETES, review: { approvers: 2, previewHours: 2 } };
    const blocked = await sync("complete", fourEyes);
    const before = await snapshot(store);
    await expect(
      validateBatch(store, blocked.batchId, { actor: ALICE, config: configOf(fourEyes) }),
    ).rejects.toMatchObject({ code: "SECOND_APPROVER_REQUIRED" });
    await expect(applyDecided(store, configOf(fourEyes), blocked.batchId, ALICE)).rejects.toMatchObject({
      code: "SECOND_APPROVER_REQUIRED",
    });
    expect(await snapshot(store)).toEqual(before);
    const report = await validateBatch(store, blocked.batchId, { actor: BOB, config: configOf(fourEyes) });
    expect(report.review?.decidedBy).toEqual(["alice", "bob"]);
    expect((await store.journal.decisions(blocked.batchId)).map((d) => [d.principal, d.action])).toEqual([
      ["alice", "sign-off"],
      ["alice", "sign-off"],
      ["bob", "validate"],
    ]);
    // The connector's preview hours.
    const preview = await sync("complete", fourEyes, { dryRun: true });
    const expires = Date.parse((await store.batches.get(preview.batchId))!.expiresAt!);
    expect(Math.abs(expires - Date.now() - 2 * 3_600_000)).toBeLessThan(60_000);
  });

  it("properties: approve all = validate, approve none = cancel, partial then complete = the rejected changes, undo = before", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => user(i + 1).id);
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(ids, { minLength: 2 }),
        fc.subarray(ids),
        fc.nat(2),
        async (gone, approvedKeys, variant) => {
          await store.close();
          store = await openStore(db.url());
          workDir = tempDir();
          const data = await loaded(12);
          const initial = await snapshot(store);
          const changed = withoutUsers(data, gone);
          changed.users = changed.users.map((u, i) =>
            i % 4 === variant ? user(Number(u.id.slice(1)), 1) : u,
          );
          await writeComplete(workDir, changed);
          const blocked = await sync("complete", BLOCK_DELETES);
          expect(blocked.state).toBe("blocked");

          if (variant === 0) {
            // Approve all = validate; undo = the repository before.
            await decideBatch(store, blocked.batchId, ALICE, "approved", { decision: "undecided" });
            await applyDecided(store, configOf(BLOCK_DELETES), blocked.batchId, ALICE);
            const approvedAll = await snapshot(store);
            await undoBatch(store, configOf(), blocked.batchId, ALICE);
            expect(await snapshot(store)).toEqual(initial);
            const again = await sync("complete", BLOCK_DELETES);
            await validateBatch(store, again.batchId, { actor: BOB, config: configOf() });
            expect(await snapshot(store)).toEqual(approvedAll);
            return;
          }
          if (variant === 1) {
            const none = await decideBatch(store, blocked.batchId, ALICE, "rejected", {
              decision: "undecided",
            });
            expect(none.approved).toBe(0);
            await applyDecided(store, configOf(BLOCK_DELETES), blocked.batchId, ALICE);
            expect(await snapshot(store)).toEqual(initial);
            return;
          }
          const approve = approvedKeys.filter((k) => gone.includes(k));
          if (approve.length > 0)
            await decideBatch(store, blocked.batchId, ALICE, "approved", {
              keys: approve,
              operation: "delete",
            });
          await applyDecided(store, configOf(BLOCK_DELETES), blocked.batchId, ALICE, { rest: "rejected" });
          const partial = await snapshot(store);
          const again = await sync("complete", BLOCK_DELETES);
          const proposed = (await allChanges(again.batchId, { kind: "resource" })).map(
            (r) => `${r.operation} ${r.key}`,
          );
          const rejectedDeletes = gone.filter((k) => !approve.includes(k)).map((k) => `delete ${k}`);
          expect(proposed.filter((p) => p.startsWith("delete")).sort()).toEqual(rejectedDeletes.sort());
          // What was approved is applied, nothing else.
          expect(partial.resources.length).toBe(initial.resources.length - approve.length);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
