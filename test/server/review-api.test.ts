/**
 * The review API over real HTTP on SQLite and PostgreSQL: a blocked batch paged before → after,
 * decided in part by an approver (a viewer's decisions are 403), applied as decided, shown with
 * its decision journal, its resources' histories, then undone; bad decisions answer 4xx with a
 * code and change nothing.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { BatchDetail, ChangePage, DecisionOutcome, HistoryEntry } from "../../src/protocol/api.js";
import { PATHS } from "../../src/protocol/api.js";
import { testDatabases } from "../store/dialects.js";
import { serveWithAdmins } from "./admins.js";
import { Api, cleanedAfterEach, expectRefusal, prepare, snapshot, writeHr } from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("the review API on $dialect", (db) => {
  const { envs, servers } = cleanedAfterEach();

  it("pages, decides in part, applies, journals and undoes; a viewer only reads", async () => {
    const { env, server, hr, viewer, approver } = await serveWithAdmins(db.url(), { envs, servers });

    writeHr(env, 300);
    expect((await hr.waitFor((await hr.notifyAndSend(await prepare(env, "HR", "initial"))).id)).state).toBe(
      "applied",
    );
    const before = await snapshot(server.store, "HR");
    writeHr(env, 280, 3);
    const big = await hr.notifyAndSend(await prepare(env, "HR", "complete"));
    expect((await hr.waitFor(big.id)).state).toBe("blocked");

    // Pages by key, before → after; a filter on the property changed.
    const changes = (query: string) => viewer.request<ChangePage>("GET", `${PATHS.changes(big.id)}?${query}`);
    const first = await changes("kind=resource&operation=delete&limit=15");
    expect(first.status, first.text).toBe(200);
    expect(first.body.total).toBe(20);
    expect(first.body.rows).toHaveLength(15);
    expect(first.body.rows[0]?.before?.["email"]).toMatch(/@example\.com$/);
    const second = await changes(`kind=resource&operation=delete&limit=15&after=${first.body.next}`);
    expect(second.body.rows).toHaveLength(5);
    expect(second.body.next).toBeNull();
    const deletes = [...first.body.rows, ...second.body.rows];
    const renamed = await changes("property=department");
    expect(renamed.body.rows.map((r) => r.after?.["department"])).toEqual(
      Array(3).fill("Renamed Department"),
    );
    expect(renamed.body.rows[0]?.changed).toEqual(["department"]);

    // A viewer may not decide; bad decisions change nothing.
    const decide = (api: Api, body: unknown) =>
      api.request<DecisionOutcome>("POST", `${PATHS.batch(big.id)}/decisions`, { json: body });
    const approveTen = { decision: "approve", ids: deletes.slice(0, 10).map((r) => r.id) };
    expectRefusal(await decide(viewer, approveTen), 403, "FORBIDDEN");
    expectRefusal(
      await decide(approver, { decision: "approve", ids: ["r99999999"] }),
      400,
      "CHANGE_NOT_FOUND",
    );
    expectRefusal(await decide(approver, { decision: "maybe" }), 400, "REQUEST_INVALID");

    const approved = await decide(approver, approveTen);
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body).toMatchObject({ matched: 10, approved: 10, rejected: 0 });
    const rejected = await decide(approver, {
      decision: "reject",
      filter: { kind: "resource", operation: "delete", decision: "undecided" },
    });
    expect(rejected.body.matched).toBe(10);
    expectRefusal(
      await approver.request("POST", `${PATHS.batch(big.id)}/apply`, { json: {} }),
      409,
      "DECISION_INCOMPLETE",
    );
    expectRefusal(
      await viewer.request("POST", `${PATHS.batch(big.id)}/apply`, { json: { rest: "approve" } }),
      403,
      "FORBIDDEN",
    );
    const applied = await approver.request<{ review: { partial: boolean; decidedBy: string[] } }>(
      "POST",
      `${PATHS.batch(big.id)}/apply`,
      { json: { rest: "approve" } },
    );
    expect(applied.status, applied.text).toBe(200);
    expect(applied.body.review).toMatchObject({ partial: true, decidedBy: ["alex"] });
    expectRefusal(await decide(approver, approveTen), 409, "BATCH_STATE");

    const detail = await viewer.request<BatchDetail>("GET", PATHS.batch(big.id));
    expect(detail.body).toMatchObject({ state: "applied", partial: true });
    // The 10 rejected deletes, and the removals of their manager links with them.
    expect(detail.body.rejected).toBeGreaterThan(10);
    expect(detail.body.decisions?.map((d) => [d.principal, d.role, d.action, d.changes])).toEqual([
      ["alex", "approver", "approve", 10],
      ["alex", "approver", "reject", 10],
      ["alex", "approver", "apply", expect.any(Number)],
    ]);

    // The history of a person whose delete was approved: by key, since the resource is gone.
    const goneKey = deletes[0]!.key;
    const history = await viewer.request<HistoryEntry[]>(
      "GET",
      `/api/v1/history?connector=HR&key=${goneKey}`,
    );
    expect(history.status, history.text).toBe(200);
    const resourceChanges = history.body.filter((h) => h.change.kind === "resource");
    expect(resourceChanges.map((h) => h.change.operation)).toEqual(["insert", "delete"]);
    expect(resourceChanges[1]).toMatchObject({ batchId: big.id, decidedBy: ["alex"] });
    expectRefusal(
      await viewer.request("GET", "/api/v1/resources/99999999/history"),
      404,
      "RESOURCE_NOT_FOUND",
    );

    // Undo: a viewer may not; the approver's undo is blocked by the insert thresholds, then validated.
    expectRefusal(
      await viewer.request("POST", `${PATHS.batch(big.id)}/undo`, { json: {} }),
      403,
      "FORBIDDEN",
    );
    const undo = await approver.request<{ batchId: string; state: string; undoOf: string }>(
      "POST",
      `${PATHS.batch(big.id)}/undo`,
      { json: {} },
    );
    expect(undo.status, undo.text).toBe(200);
    expect(undo.body.undoOf).toBe(big.id);
    if (undo.body.state === "blocked") {
      const validated = await approver.request("POST", PATHS.validate(undo.body.batchId));
      expect(validated.status, validated.text).toBe(200);
    }
    expect(await snapshot(server.store, "HR")).toEqual(before);
  });

  it("a notified dry run ends previewed, keeps its changes for review, and can be applied", async () => {
    const { env, server, hr, approver } = await serveWithAdmins(db.url(), { envs, servers });
    writeHr(env, 300);
    expect((await hr.waitFor((await hr.notifyAndSend(await prepare(env, "HR", "initial"))).id)).state).toBe(
      "applied",
    );
    const before = await snapshot(server.store, "HR");
    writeHr(env, 297, 2);
    const prepared = await prepare(env, "HR", "complete");
    const notified = await hr.request<{ id: string }>("POST", PATHS.batches, {
      json: { connector: "HR", mode: "complete", baseBatch: null, dryRun: true },
    });
    expect(notified.status, notified.text).toBe(201);
    await hr.send(notified.body.id, prepared);
    const preview = await hr.waitFor(notified.body.id, ["previewed", "failed"]);
    expect(preview.state).toBe("previewed");
    expect(await snapshot(server.store, "HR")).toEqual(before);
    const page = await approver.request<ChangePage>(
      "GET",
      `${PATHS.changes(notified.body.id)}?kind=resource`,
    );
    expect(page.body.rows.map((r) => r.operation).sort()).toEqual([
      "delete",
      "delete",
      "delete",
      "update",
      "update",
    ]);
    const applied = await approver.request("POST", PATHS.validate(notified.body.id));
    expect(applied.status, applied.text).toBe(200);
    expect(await snapshot(server.store, "HR")).not.toEqual(before);
  });
});
