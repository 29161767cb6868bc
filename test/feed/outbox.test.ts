/**
 * The change feed's outbox on both databases: every applied change appears once, in the
 * apply's order, with its values before and after and the decision that let it through;
 * initial loads, partial applies and undos too; retention and its 410; and the property that
 * replaying the feed from 0 onto an empty repository rebuilds it exactly.
 */
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.js";
import { parseConfig } from "../../src/config/load.js";
import type { ChangeEvent } from "../../src/protocol/change-feed.js";
import { ChangeFeedReader } from "../../src/sync/change-feed.js";
import {
  applyDecided,
  decideBatch,
  openStore,
  synchronize,
  undoBatch,
  type Actor,
  type Store,
} from "../../src/sync/index.js";
import type { SynchronizeOptions } from "../../src/sync/types.js";
import { driverFor, testDatabases } from "../store/dialects.js";
import {
  CONNECTOR,
  dataset,
  snapshot,
  tempDir,
  testConfigYaml,
  user,
  writeComplete,
  writeIncremental,
  withoutUsers,
  type TestConfigOptions,
} from "../sync/helpers.js";
import { replay } from "./replay.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const ALICE: Actor = { id: "alice", role: "approver" };
const RUNS = Number(process.env["SYNCUP_PROPERTY_RUNS"] ?? 8);

/** The test configuration with the change feed on. */
export function feedConfig(workDir: string, options: TestConfigOptions = {}, feed = "{}"): Config {
  return parseConfig(`${testConfigYaml(workDir, options)}server:\n  changeFeed: ${feed}\n`, {
    file: join(workDir, "syncup.yaml"),
    label: "syncup.yaml",
    env: {},
  });
}

describe.each(databases)("the change feed's outbox on $dialect", (db) => {
  let store: Store;
  let workDir: string;
  let url: string;
  beforeEach(async () => {
    url = db.url();
    store = await openStore(url);
    workDir = tempDir();
    return async () => store.close();
  });
  const sync = (mode: SynchronizeOptions["mode"], options: TestConfigOptions = {}) =>
    synchronize({ store, config: feedConfig(workDir, options), connector: CONNECTOR, mode });

  async function allEvents(after = 0): Promise<ChangeEvent[]> {
    const reader = new ChangeFeedReader(store, feedConfig(workDir));
    const events: ChangeEvent[] = [];
    let cursor = after;
    for (;;) {
      const page = await reader.page({ after: cursor, limit: 37 });
      events.push(...page.events);
      if (page.events.length === 0) return events;
      cursor = page.next;
    }
  }

  it("writes one event per applied change, numbered without gaps, resources before links, deletes last", async () => {
    const data = dataset(20);
    await writeComplete(workDir, data, "initial");
    const initial = await sync("initial");
    let events = await allEvents();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.kind === "resource")).toHaveLength(23);
    expect(events.filter((e) => e.kind === "link")).toHaveLength(20);
    expect(events.filter((e) => e.kind === "reference")).toHaveLength(19);
    expect(events.every((e) => e.batchId === initial.batchId && e.decision.kind === "initial")).toBe(true);
    const manager = events.find((e) => e.kind === "reference" && e.holder.key === "u0002");
    expect(manager).toMatchObject({
      association: "Manager",
      column: 128,
      holder: { entityType: "User", key: "u0002" },
      target: { entityType: "User", key: "u0001" },
    });

    const changed = withoutUsers(data, ["u0003"]);
    changed.users = changed.users.map((u) => (u.id === "u0005" ? user(5, 1) : u));
    changed.users.push(user(40));
    changed.members.push(["g1", user(40).mail]);
    await writeComplete(workDir, changed);
    const complete = await sync("complete");
    expect(complete.state).toBe("applied");
    events = await allEvents(initial.resources.inserted + 39);
    expect(events[0]?.seq).toBe(initial.resources.inserted + 40);
    expect(events.every((e) => e.batchId === complete.batchId)).toBe(true);
    expect(events.map((e) => `${e.kind} ${e.operation}`)).toEqual([
      "resource update",
      "resource insert",
      ...events.slice(2, -1).map((e) => `${e.kind} ${e.operation}`),
      "resource delete",
    ]);
    const update = events[0];
    expect(update).toMatchObject({ kind: "resource", key: "u0005", decision: { kind: "automatic", by: [] } });
    if (update?.kind !== "resource") throw new Error("not a resource event");
    expect(update.before?.properties["name"]).toBe("User 5");
    expect(update.after?.properties["name"]).toBe("User 5 v1");
    expect(update.after?.uniqueKeys[0]).toBe("user5@example.com");
    const deleted = events.at(-1);
    expect(deleted).toMatchObject({ kind: "resource", operation: "delete", key: "u0003", after: null });
    if (deleted?.kind !== "resource") throw new Error("not a resource event");
    expect(deleted.before?.properties["mail"]).toBe("user3@example.com");
    const links = events.slice(2, -1);
    expect(links.find((e) => e.kind === "link" && e.operation === "insert")).toMatchObject({
      association: "Membership",
      keys: ["g1", "user40@example.com"],
      ends: [
        { entityType: "Group", key: "g1" },
        { entityType: "User", key: "u0040" },
      ],
      cascaded: false,
    });
    // The files no longer hold u0003's links: the batch removes them itself, before the delete.
    expect(links.filter((e) => e.kind !== "resource" && e.operation === "delete").length).toBeGreaterThan(0);
  });

  it("a partial apply writes what was taken, an undo writes the inverse, each with its decision", async () => {
    const data = dataset(12);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const loaded = await allEvents();
    await writeComplete(workDir, withoutUsers(data, ["u0002", "u0003"]));
    const blocked = await sync("complete", { thresholds: { MaximumDeletedLines: 1 } });
    expect(blocked.state).toBe("blocked");
    expect(await allEvents(loaded.length)).toEqual([]);
    await decideBatch(store, blocked.batchId, ALICE, "approved", { keys: ["u0002"], kind: "resource" });
    await applyDecided(store, feedConfig(workDir), blocked.batchId, ALICE, { rest: "rejected" });
    const partial = await allEvents(loaded.length);
    expect(
      partial
        .filter((e) => e.kind === "resource")
        .map((e) => `${e.operation} ${e.kind === "resource" ? e.key : ""}`),
    ).toEqual(["delete u0002"]);
    expect(partial.every((e) => e.decision.kind === "partial" && e.decision.by.includes("alice"))).toBe(true);

    const undo = await undoBatch(store, feedConfig(workDir), blocked.batchId, ALICE);
    const undone = await allEvents(loaded.length + partial.length);
    expect(undone.every((e) => e.batchId === undo.batchId && e.decision.kind === "undo")).toBe(true);
    expect(
      undone
        .filter((e) => e.kind === "resource")
        .map((e) => `${e.operation} ${e.kind === "resource" ? e.key : ""}`),
    ).toEqual(["insert u0002"]);
    expect(undone.filter((e) => e.kind !== "resource")).toHaveLength(
      partial.filter((e) => e.kind !== "resource").length,
    );
  });

  it("prunes by row count and refuses a cursor behind the retention with CHANGES_GONE", async () => {
    await writeComplete(workDir, dataset(10), "initial");
    await sync("initial");
    const { last } = await store.feed.bounds();
    expect(await store.feed.prune({ before: null, keepRows: 5, floor: last })).toBe(last - 5);
    const reader = new ChangeFeedReader(store, feedConfig(workDir));
    await expect(reader.page({ after: 0, limit: 10 })).rejects.toMatchObject({ code: "CHANGES_GONE" });
    const page = await reader.page({ after: last - 5, limit: 10 });
    expect(page.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5].map((i) => last - 5 + i));
    // By age: everything written before now; never past a sink's cursor (the floor).
    expect(
      await store.feed.prune({
        before: new Date(Date.now() + 1000).toISOString(),
        keepRows: null,
        floor: last - 2,
      }),
    ).toBe(last - 2);
  });

  it("writes nothing when server.changeFeed is not set", async () => {
    const config = parseConfig(testConfigYaml(workDir), {
      file: join(workDir, "s.yaml"),
      label: "s",
      env: {},
    });
    await writeComplete(workDir, dataset(5), "initial");
    await synchronize({ store, config, connector: CONNECTOR, mode: "initial" });
    expect(await store.feed.bounds()).toEqual({ last: 0, prunedThrough: 0 });
  });

  it("property: replaying the feed from 0 onto an empty repository rebuilds its resources, links and references", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            gone: fc.subarray(Array.from({ length: 14 }, (_, i) => user(i + 1).id)),
            changed: fc.nat(3),
            added: fc.nat(3),
            incremental: fc.boolean(),
            force: fc.boolean(),
            staleLinks: fc.boolean(),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (steps) => {
          await store.close();
          url = db.url();
          store = await openStore(url);
          workDir = tempDir();
          let data = dataset(14);
          await writeComplete(workDir, data, "initial");
          await sync("initial");
          for (const [i, step] of steps.entries()) {
            const next = withoutUsers(data, step.gone);
            // An association file that still names deleted users: the deletes take the links along.
            if (step.staleLinks && step.incremental) {
              next.members = [...data.members];
              next.managers = [...data.managers];
            }
            next.users = next.users.map((u, j) =>
              j % 4 === step.changed ? user(Number(u.id.slice(1)), i + 1) : u,
            );
            for (let k = 0; k < step.added; k++) {
              const n = 100 + i * 10 + k;
              next.users.push(user(n));
              next.members.push([`g${1 + (k % 3)}`, user(n).mail]);
              next.managers.push([user(n).id, next.users[0]?.id ?? "u0001"]);
            }
            if (step.force && i === 0) {
              await writeComplete(workDir, next, "initial");
              await synchronize({
                store,
                config: feedConfig(workDir),
                connector: CONNECTOR,
                mode: "initial",
                force: true,
              });
            } else if (step.incremental) {
              const last = await store.batches.lastApplied(CONNECTOR);
              await writeIncremental(workDir, data, next, { baseBatch: last?.id ?? null });
              await sync("incremental");
            } else {
              await writeComplete(workDir, next);
              await sync("complete");
            }
            data = next;
          }
          const events = await allEvents();
          expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
          // The API's JSON text, values spliced in unparsed, is the same page.
          const reader = new ChangeFeedReader(store, feedConfig(workDir));
          const query = { after: 0, limit: 10_000 };
          expect(JSON.parse((await reader.pageJson(query)).json)).toEqual(await reader.page(query));
          const targetUrl = db.url();
          const target = await openStore(targetUrl);
          const driver = await driverFor(targetUrl);
          try {
            await driver.transaction(() => replay(driver, events));
            const expected = await snapshot(store);
            const rebuilt = await snapshot(target);
            expect(rebuilt.resources).toEqual(expected.resources);
            expect(rebuilt.links).toEqual(expected.links);
            expect(rebuilt.mono).toEqual(expected.mono);
          } finally {
            await driver.close();
            await target.close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
