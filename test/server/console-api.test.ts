/**
 * The read API of the admin console over real HTTP on SQLite and PostgreSQL, on the quickstart's
 * data sent by agents: the connectors' overview (the blocked connector first, the threshold it
 * crossed in words), batches filtered and paged by key, resources searched (key prefix, unique
 * key, property value) and read with their links and references, orphans, jobs. Administrators
 * of either role read; agents may not; unknown ids and foreign cursors are refused.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { BatchView } from "../../src/protocol/api.js";
import type { ConnectorOverview } from "../../src/server/overview.js";
import type { JobView } from "../../src/server/job-schedules.js";
import type { OrphanView } from "../../src/server/orphans.js";
import type { ResourceDetail, ResourceSummary } from "../../src/server/resource-browser.js";
import { testDatabases } from "../store/dialects.js";
import { AS_VIEWER, serveWithAdmins } from "./admins.js";
import { AS_AD, AS_HR, cleanedAfterEach, expectRefusal, prepare, writeHr } from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

type Page<T> = { rows: T[]; next: string | null };

describe.each(databases)("the console's read API on $dialect", (db) => {
  const { envs, servers } = cleanedAfterEach();

  it("overview, batches, resources, orphans and jobs", async () => {
    const { env, anonymous } = await serveWithAdmins(db.url(), { envs, servers });
    const hr = anonymous.as(AS_HR);
    const ad = anonymous.as(AS_AD);
    const viewer = anonymous.as(AS_VIEWER);
    const get = async <T>(path: string): Promise<T> => {
      const answer = await viewer.request<T>("GET", path);
      expect(answer.status, `${path}: ${answer.text}`).toBe(200);
      return answer.body;
    };

    writeHr(env, 300);
    const initial = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
    expect((await hr.waitFor(initial.id)).state).toBe("applied");
    const adInitial = await ad.notifyAndSend(await prepare(env, "AD", "initial"));
    expect((await ad.waitFor(adInitial.id)).state).toBe("applied");
    writeHr(env, 150);
    const big = await hr.notifyAndSend(await prepare(env, "HR", "complete"));
    expect((await hr.waitFor(big.id)).state).toBe("blocked");

    // The overview: HR blocked first, with the threshold crossed in words.
    const overview = await get<ConnectorOverview[]>("/api/v1/connectors");
    expect(overview.map((c) => [c.name, c.state])).toEqual([
      ["HR", "blocked"],
      ["AD", "applied"],
    ]);
    const [hrView, adView] = overview as [ConnectorOverview, ConnectorOverview];
    expect(hrView.blocked?.batch.id).toBe(big.id);
    expect(hrView.blocked?.crossed.map((c) => c.words)).toContain(
      "would delete 50 % of the resources of the connector (limit: 5 %)",
    );
    expect(hrView.lastBatches.initial?.id).toBe(initial.id);
    expect(hrView.lastBatches.complete?.state).toBe("blocked");
    expect(hrView.lastBatches.incremental).toBeNull();
    expect(hrView.resources).toEqual([{ entityType: "Person", count: 300 }]);
    expect(hrView.nextJob).toMatchObject({ job: "HR_daily", mode: "complete" });
    expect(adView.resources[0]?.entityType).toBe("AD_Entry");

    // Batches: filters and keyset paging, newest first.
    const all = await get<BatchView[]>("/api/v1/batches");
    expect(all.map((b) => b.id)).toEqual([big.id, adInitial.id, initial.id]);
    const first = await get<BatchView[]>("/api/v1/batches?limit=2");
    const second = await get<BatchView[]>(`/api/v1/batches?limit=2&before=${first[1]?.seq}`);
    expect([...first, ...second].map((b) => b.id)).toEqual(all.map((b) => b.id));
    expect((await get<BatchView[]>("/api/v1/batches?connector=HR&mode=initial")).map((b) => b.id)).toEqual([
      initial.id,
    ]);
    expect(await get<BatchView[]>("/api/v1/batches?state=failed")).toEqual([]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await get<BatchView[]>(`/api/v1/batches?since=${future}`)).toEqual([]);
    expect(await get<BatchView[]>(`/api/v1/batches?until=${future}`)).toHaveLength(3);

    // Resources: a key prefix, paged; a property value; a unique key.
    const page1 = await get<Page<ResourceSummary>>("/api/v1/resources?connector=HR&keyPrefix=001&limit=4");
    expect(page1.rows).toHaveLength(4);
    expect(page1.rows.every((r) => r.key.startsWith("001"))).toBe(true);
    const page2 = await get<Page<ResourceSummary>>(
      `/api/v1/resources?connector=HR&keyPrefix=001&limit=4&after=${page1.next}`,
    );
    expect(page2.rows[0]!.key > page1.rows[3]!.key).toBe(true);
    const person = page1.rows[0]!;
    const detail = await get<ResourceDetail>(`/api/v1/resources/${person.id}`);
    expect(detail).toMatchObject({ connector: "HR", entityType: "Person", key: person.key });
    const lastName = String(detail.values["lastName"]);
    const byValue = await get<Page<ResourceSummary>>(
      `/api/v1/resources?connector=HR&entityType=Person&property=lastName&value=${encodeURIComponent(lastName)}`,
    );
    expect(byValue.rows.map((r) => r.key)).toContain(person.key);

    // Mono-valued references both ways: someone's manager names them among referencedBy.
    const managed = (await get<Page<ResourceSummary>>("/api/v1/resources?connector=HR&limit=300")).rows;
    let withManager: ResourceDetail | undefined;
    for (const r of managed) {
      const d = await get<ResourceDetail>(`/api/v1/resources/${r.id}`);
      if (d.references.length > 0) {
        withManager = d;
        break;
      }
    }
    expect(withManager?.references[0]?.property).toBe("manager");
    const manager = await get<ResourceDetail>(`/api/v1/resources/${withManager!.references[0]!.target.id}`);
    expect(manager.referencedBy).toContainEqual({
      property: "manager",
      source: { id: withManager!.id, entityType: "Person", key: withManager!.key },
    });

    // Multi-valued links both ways (AD group members), and a unique key.
    const entries = (await get<Page<ResourceSummary>>("/api/v1/resources?connector=AD&limit=500")).rows;
    let group: ResourceDetail | undefined;
    for (const r of entries) {
      const d = await get<ResourceDetail>(`/api/v1/resources/${r.id}`);
      if (d.links.some((l) => l.association === "AD_Entry_Members" && l.direction === "out")) {
        group = d;
        break;
      }
    }
    const link = group!.links.find((l) => l.direction === "out")!;
    expect(link.property).toBe("members");
    const member = await get<ResourceDetail>(`/api/v1/resources/${link.other.id}`);
    expect(member.links).toContainEqual({
      association: "AD_Entry_Members",
      direction: "in",
      property: "memberOf",
      other: { id: group!.id, entityType: "AD_Entry", key: group!.key },
    });
    const guid = group!.uniqueKeys[0]!;
    const byGuid = await get<Page<ResourceSummary>>(`/api/v1/resources?connector=AD&uniqueKey=${guid}`);
    expect(byGuid.rows.map((r) => r.id)).toEqual([group!.id]);

    // Orphans and jobs.
    const orphans = await get<Page<OrphanView>>("/api/v1/orphans?connector=AD&limit=500");
    for (const o of orphans.rows) {
      expect(o.missingKeys.length).toBeGreaterThan(0);
      expect(o.missingKeys.every((k) => k === o.key1 || k === o.key2)).toBe(true);
    }
    expect(orphans.rows.length).toBe(adView.orphans.reduce((n, o) => n + o.count, 0));
    const jobs = await get<JobView[]>("/api/v1/jobs");
    expect(jobs.map((j) => j.name)).toEqual(["AD_daily", "AD_incremental", "HR_daily"]);
    expect(jobs.find((j) => j.name === "HR_daily")).toMatchObject({
      schedule: "0 5 * * *",
      timeZone: "Europe/Paris",
      agents: ["agent-hr", "agent-both"],
      lastRun: null,
    });
    expect(Date.parse(jobs[0]!.nextRun!)).toBeGreaterThan(Date.now());

    // Refusals: agents, unknown ids, foreign cursors, unknown names.
    for (const path of [
      "/api/v1/connectors",
      "/api/v1/resources?connector=HR",
      "/api/v1/jobs",
      "/api/v1/orphans?connector=HR",
    ]) {
      expectRefusal(await hr.request("GET", path), 403, "FORBIDDEN");
    }
    const gone = expectRefusal(
      await viewer.request("GET", "/api/v1/resources/999999999"),
      404,
      "RESOURCE_NOT_FOUND",
    );
    expect(gone.message).toContain("999999999");
    expectRefusal(
      await viewer.request("GET", "/api/v1/resources?connector=HR&after=bm90LWEtY3Vyc29y"),
      400,
      "REQUEST_INVALID",
    );
    expectRefusal(
      await viewer.request("GET", "/api/v1/resources?connector=HR&entityType=Nope"),
      400,
      "REQUEST_INVALID",
    );
    expectRefusal(
      await viewer.request("GET", "/api/v1/resources?connector=HR&property=salary&value=1"),
      400,
      "REQUEST_INVALID",
    );
    expectRefusal(await viewer.request("GET", "/api/v1/resources?connector=Nope"), 400, "CONFIG_INVALID");
  });
});
