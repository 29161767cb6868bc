/**
 * `GET /api/v1/changes` over real HTTP on both databases, with batches sent by agents: every
 * applied change once, in order, paged; filters; a long poll that answers within a second of
 * a commit; 410 for a cursor behind the retention; agents refused.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { ChangeEvent, ChangePage } from "../../src/protocol/change-feed.js";
import { testDatabases } from "../store/dialects.js";
import { AS_VIEWER, withAdmins } from "../server/admins.js";
import {
  AS_HR,
  Api,
  cleanedAfterEach,
  expectRefusal,
  makeEnv,
  prepare,
  serve,
  writeHr,
} from "../server/helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("the pull API of the change feed on $dialect", (db) => {
  const { envs, servers } = cleanedAfterEach();

  it("serves every applied change once, in order; long-polls; 410 behind the retention", async () => {
    const base = await makeEnv(db.url(), { thresholdsOff: true });
    envs.push(base);
    const config = await withAdmins(base, { changeFeed: { retentionDays: 7 } });
    const server = await serve(config);
    servers.push(server);
    const anonymous = new Api(server.url, null);
    const hr = anonymous.as(AS_HR);
    const viewer = anonymous.as(AS_VIEWER);
    const page = async (query: string): Promise<ChangePage> => {
      const answer = await viewer.request<ChangePage>("GET", `/api/v1/changes?${query}`);
      expect(answer.status, answer.text).toBe(200);
      return answer.body;
    };
    const all = async (after = 0): Promise<ChangeEvent[]> => {
      const events: ChangeEvent[] = [];
      for (let cursor = after; ;) {
        const p = await page(`after=${cursor}&limit=50`);
        if (p.events.length === 0) return events;
        events.push(...p.events);
        cursor = p.next;
      }
    };

    writeHr(base, 120);
    const initial = await hr.notifyAndSend(await prepare(base, "HR", "initial"));
    expect((await hr.waitFor(initial.id)).state).toBe("applied");
    const loaded = await all();
    expect(loaded.map((e) => e.seq)).toEqual(loaded.map((_, i) => i + 1));
    const people = loaded.filter((e) => e.kind === "resource");
    expect(people).toHaveLength(120);
    expect(new Set(people.map((e) => (e.kind === "resource" ? e.key : ""))).size).toBe(120);
    expect(
      loaded.every((e) => e.batchId === initial.id && e.connector === "HR" && e.mode === "initial"),
    ).toBe(true);

    // A long poll after the last event answers within a second of the next commit.
    const last = loaded.at(-1)?.seq ?? 0;
    const started = Date.now();
    const waiting = page(`after=${last}&wait=20s`);
    await new Promise((r) => setTimeout(r, 300));
    writeHr(base, 110, 5);
    const complete = await hr.notifyAndSend(await prepare(base, "HR", "complete"));
    expect((await hr.waitFor(complete.id)).state).toBe("applied");
    const committed = Date.now();
    const woken = await waiting;
    expect(Date.now() - committed).toBeLessThan(1000);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(woken.events.length).toBeGreaterThan(0);
    expect(woken.events[0]?.seq).toBe(last + 1);

    const changes = await all(last);
    expect(changes.every((e) => e.batchId === complete.id)).toBe(true);
    const resources = changes.filter((e) => e.kind === "resource");
    expect(resources.filter((e) => e.operation === "delete")).toHaveLength(10);
    const updates = resources.filter((e) => e.operation === "update");
    expect(updates).toHaveLength(5);
    for (const u of updates) {
      expect(u.after?.properties).not.toEqual(u.before?.properties);
      expect(JSON.stringify(u.after?.properties)).toContain("Renamed Department");
    }
    // The filters: a connector without events, an entity type.
    expect((await page(`after=0&connector=AD`)).events).toEqual([]);
    const persons = await page(`after=${last}&entityType=Person&limit=1000`);
    expect(persons.events.every((e) => e.kind !== "resource" || e.entityType === "Person")).toBe(true);

    // An empty long poll answers when its wait ends.
    const end = changes.at(-1)?.seq ?? 0;
    const idle = Date.now();
    expect((await page(`after=${end}&wait=500ms`)).events).toEqual([]);
    expect(Date.now() - idle).toBeGreaterThanOrEqual(450);

    // Behind the retention: 410, never a silent gap, nor a page read ahead before the pruning.
    expect((await page("after=0&limit=5")).events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    await server.store.feed.prune({ before: null, keepRows: 10, floor: end });
    expectRefusal(await viewer.request("GET", "/api/v1/changes?after=5&limit=5"), 410, "CHANGES_GONE");
    expectRefusal(await viewer.request("GET", "/api/v1/changes?after=0"), 410, "CHANGES_GONE");
    expect((await page(`after=${end - 10}`)).events).toHaveLength(10);
    // Agents do not read the feed.
    expectRefusal(await hr.request("GET", "/api/v1/changes"), 403, "FORBIDDEN");
    expectRefusal(await viewer.request("GET", "/api/v1/changes?wait=5m"), 400, "REQUEST_INVALID");
  });
});
