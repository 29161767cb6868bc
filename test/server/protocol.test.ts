/**
 * `syncup server` over real HTTP, on SQLite and PostgreSQL: what an agent and an administrator
 * rely on. Authentication and authorization, file names that must never leave the batch
 * folder, the file size limit; idempotent uploads and seals (a batch is applied once); the
 * queue's order per connector whatever the order of the seals; a complete notification
 * cancelling pending incrementals; drift detection (BASE_MISMATCH, CONNECTOR_BLOCKED); a
 * restart between upload and seal; metrics and the OpenAPI document.
 *
 * Batches are made by the real export and prepare of the quickstart example (HR: 300 people,
 * AD: 306 entries and their links), the source CSV files being rewritten for each version.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PATHS, type BatchView, type ConnectorStatus } from "../../src/protocol/api.js";
import type { RunningServer } from "../../src/server/server.js";
import { testDatabases } from "../store/dialects.js";
import {
  accept,
  AGENT_HR,
  Api,
  AS_AD,
  AS_ADMIN,
  AS_BOTH,
  AS_HR,
  bearer,
  counted,
  expectRefusal,
  filesBelow,
  JOB_RUN,
  makeEnv,
  metric,
  prepare,
  serve,
  sha256,
  snapshot,
  writeAd,
  writeHr,
  type EnvOptions,
  type PreparedBatch,
  type TestEnv,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("syncup server on $dialect", (db) => {
  const envs: TestEnv[] = [];
  const servers: RunningServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const env of envs.splice(0)) env.cleanup();
  });

  /** A fresh copy of the example on a fresh database, and a server on it. */
  async function setup(options: EnvOptions = {}) {
    const env = await makeEnv(db.url(), options);
    envs.push(env);
    const server = await serve(env.config);
    servers.push(server);
    const anonymous = new Api(server.url, null);
    return {
      env,
      server,
      anonymous,
      hr: anonymous.as(AS_HR),
      ad: anonymous.as(AS_AD),
      admin: anonymous.as(AS_ADMIN),
    };
  }

  async function metricsOf(api: Api): Promise<string> {
    const answer = await api.as(null).request("GET", PATHS.metrics);
    expect(answer.status).toBe(200);
    return answer.text;
  }

  it("refuses unauthenticated, unauthorized and unsafe requests, each with an ApiError body, and writes nothing", async () => {
    const { env, server, anonymous, hr, ad, admin } = await setup({ maxFileMiB: 1 });
    const both = anonymous.as(AS_BOTH);

    // Authentication: every /api/v1 route wants a valid bearer token.
    expectRefusal(await anonymous.notify("HR", "complete"), 401, "UNAUTHORIZED");
    expectRefusal(await anonymous.request("GET", PATHS.batches), 401, "UNAUTHORIZED");
    expectRefusal(
      await anonymous.as(bearer(AGENT_HR.id, "not-the-secret")).notify("HR", "complete"),
      401,
      "UNAUTHORIZED",
    );
    expectRefusal(
      await anonymous.as(bearer("nobody", AGENT_HR.secret)).notify("HR", "complete"),
      401,
      "UNAUTHORIZED",
    );
    expectRefusal(
      await anonymous.as(`Basic ${AGENT_HR.secret}`).request("GET", PATHS.batches),
      401,
      "UNAUTHORIZED",
    );
    expectRefusal(
      await anonymous.as(bearer("admin", "wrong")).request("GET", PATHS.batches),
      401,
      "UNAUTHORIZED",
    );
    // The public endpoints stay public.
    expect((await anonymous.request("GET", PATHS.health)).body).toMatchObject({ status: "ok" });

    // Authorization: an agent acts on its own connectors only.
    const forbidden = expectRefusal(await hr.notify("AD", "complete"), 403, "FORBIDDEN");
    expect(forbidden.message).toContain("AD");
    expectRefusal(await hr.request("GET", PATHS.connector("AD")), 403, "FORBIDDEN");
    expect((await admin.request<BatchView[]>("GET", PATHS.batches)).body).toEqual([]);

    const notified = await hr.notify("HR", "initial");
    expect(notified.status, notified.text).toBe(201);
    const id = notified.body.id;
    const body = Buffer.from("employeeId\n00001\n");
    // Another agent's secret on agent-hr's batch: not its connector, or not its batch.
    expectRefusal(await ad.upload(id, "Person.sorted.csv", body), 403, "FORBIDDEN");
    expectRefusal(await both.upload(id, "Person.sorted.csv", body), 403, "FORBIDDEN");
    expectRefusal(await both.seal(id, [{ name: "prepare.json", sha256: sha256(body) }]), 403, "FORBIDDEN");
    expectRefusal(await both.request("DELETE", PATHS.batch(id)), 403, "FORBIDDEN");
    expectRefusal(await ad.batch(id), 403, "FORBIDDEN");
    expect((await ad.request<BatchView[]>("GET", PATHS.batches)).body).toEqual([]);

    // File names that could leave the batch folder, or that the connector has no use for.
    const unsafe: [string, boolean][] = [
      ["../evil.csv", false], // sent encoded: ..%2Fevil.csv
      ["..%2Fevil.csv", true], // sent as is: the server decodes it to ../evil.csv
      ["%2e%2e%2Fevil.csv", true],
      ["..%2Fevil.csv", false], // the literal name "..%2Fevil.csv"
      ["prepare.json/../x", false],
      ["..\\evil.csv", false],
      ["/tmp/evil.csv", false],
      ["x.sorted.csv", false], // no mapping x
      ["AD_Entry.sorted.csv", false], // another connector's mapping
      ["Person.nullpk.csv", false], // prepared, but never transferred
      [".hidden", false],
      [".Person.sorted.csv", false],
    ];
    for (const [name, rawName] of unsafe) {
      const refused = expectRefusal(await hr.upload(id, name, body, { rawName }), 400, "FILE_NAME_INVALID");
      expect(refused.message).toContain("prepare.json");
    }
    const batchDir = join(env.config.server.batchDir, id);
    expect(readdirSync(batchDir)).toEqual([]);
    expect(readdirSync(env.config.server.batchDir)).toEqual([id]);
    const everything = filesBelow(env.dir);
    expect(everything.filter((f) => /evil|hidden|(^|\/)x$|\.part$/.test(f))).toEqual([]);
    expect((await hr.batch(id)).body.files).toEqual([]);

    // Administration is the administrator's.
    expectRefusal(await hr.request("POST", PATHS.validate(id)), 403, "FORBIDDEN");
    expectRefusal(await hr.request("POST", PATHS.cancel(id)), 403, "FORBIDDEN");
    expectRefusal(await hr.request("GET", PATHS.changes(id)), 403, "FORBIDDEN");
    expect((await hr.batch(id)).body.state).toBe("notified");

    // The size limit (server.maxFileMiB: 1): exactly 1 MiB passes, 2 MiB is refused and not kept.
    const mib = Buffer.alloc(1024 * 1024, "a");
    expect((await hr.upload(id, "Person_Manager.sorted.csv", mib)).status).toBe(201);
    const tooLarge = expectRefusal(
      await hr.upload(id, "Person.sorted.csv", Buffer.alloc(2 * 1024 * 1024, "b")),
      413,
      "FILE_TOO_LARGE",
    );
    expect(tooLarge.message).toContain("maxFileMiB");
    expect(readdirSync(batchDir)).toEqual(["Person_Manager.sorted.csv"]);
    expect((await hr.batch(id)).body.files.map((f) => f.name)).toEqual(["Person_Manager.sorted.csv"]);
    // The same client goes on: the refused upload left no broken connection behind.
    const small = await hr.upload(id, "Person.sorted.csv", body);
    expect(small.status, small.text).toBe(201);
    expect(small.body).toEqual({ name: "Person.sorted.csv", sha256: sha256(body), bytes: body.length });

    // Every refusal was counted by its code.
    const text = await metricsOf(anonymous);
    expect(metric(text, "syncup_requests_refused_total", { code: "UNAUTHORIZED" })).toBe(6);
    expect(metric(text, "syncup_requests_refused_total", { code: "FORBIDDEN" })).toBe(10);
    expect(metric(text, "syncup_requests_refused_total", { code: "FILE_NAME_INVALID" })).toBe(unsafe.length);
    expect(metric(text, "syncup_requests_refused_total", { code: "FILE_TOO_LARGE" })).toBe(1);
    await server.worker.idle();
  });

  it("makes uploads and seals idempotent: a retried upload changes nothing, a batch sealed twice is applied once", async () => {
    const { env, server, hr, admin } = await setup();
    writeHr(env, 300);
    const initial = await prepare(env, "HR", "initial");
    const [person, manager, manifest] = initial.files;
    if (person === undefined || manager === undefined || manifest === undefined) throw new Error("3 files");
    expect([person.name, manager.name, manifest.name]).toEqual([
      "Person.sorted.csv",
      "Person_Manager.sorted.csv",
      "prepare.json",
    ]);
    const notified = await hr.notify("HR", "initial");
    const id = notified.body.id;
    const batchDir = join(env.config.server.batchDir, id);

    // The same file twice: stored, then acknowledged.
    const first = await hr.upload(id, person.name, person.body);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ name: person.name, sha256: person.sha256, bytes: person.body.length });
    const again = await hr.upload(id, person.name, person.body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    // Another file under that name: refused, the first one kept.
    const conflict = expectRefusal(
      await hr.upload(id, person.name, Buffer.concat([person.body, Buffer.from("x")])),
      409,
      "FILE_CONFLICT",
    );
    expect(conflict.message).toContain(person.sha256);

    // A body that does not match the announced SHA-256 (a cut transfer): refused, nothing kept.
    const corrupt = expectRefusal(
      await hr.upload(id, manager.name, manager.body.subarray(0, 100), { sha: manager.sha256 }),
      400,
      "FILE_CHECKSUM_MISMATCH",
    );
    expect(corrupt.message).toContain(manager.sha256);
    expectRefusal(await hr.upload(id, manager.name, manager.body, { sha: "abc" }), 400, "REQUEST_INVALID");
    expect(readdirSync(batchDir)).toEqual([person.name]);

    // Sealing before every file is there: the answer names the missing one.
    let incomplete = expectRefusal(await hr.seal(id, initial.files), 409, "SEAL_INCOMPLETE");
    expect(incomplete.message).toContain(manager.name);
    expect((await hr.upload(id, manifest.name, manifest.body)).status).toBe(201);
    // …also when the seal leaves out a file that prepare.json lists.
    incomplete = expectRefusal(await hr.seal(id, [person, manifest]), 409, "SEAL_INCOMPLETE");
    expect(incomplete.message).toContain(manager.name);
    // …or lists a file with another SHA-256 than the one received.
    incomplete = expectRefusal(
      await hr.seal(id, [{ name: person.name, sha256: manager.sha256 }, manifest]),
      409,
      "SEAL_INCOMPLETE",
    );
    expect(incomplete.message).toContain(person.name);
    expect((await hr.batch(id)).body.state).toBe("notified");

    // The correct upload after the corrupt one works (the SHA-256 in either case).
    const retried = await hr.upload(id, manager.name, manager.body, { sha: manager.sha256.toUpperCase() });
    expect(retried.status).toBe(201);
    expect(readdirSync(batchDir).sort()).toEqual([person.name, manager.name, manifest.name].sort());

    // Two seals at once, and a third later: all answer 200; the batch is applied once.
    const upper = initial.files.map((f) => ({ name: f.name, sha256: f.sha256.toUpperCase() }));
    const seals = await Promise.all([hr.seal(id, initial.files), hr.seal(id, upper)]);
    for (const seal of seals) {
      expect(seal.status, seal.text).toBe(200);
      expect(seal.body.id).toBe(id);
      expect(["sealed", "staging", "applied"]).toContain(seal.body.state);
    }
    const applied = await hr.waitFor(id);
    expect(applied.state).toBe("applied");
    const third = await hr.seal(id, initial.files);
    expect(third.status).toBe(200);
    expect(third.body).toMatchObject({ id, state: "applied", finishedAt: applied.finishedAt });
    await server.worker.idle();

    expect(applied.counts).toMatchObject({
      resourcesInserted: 300,
      resourcesUpdated: 0,
      resourcesDeleted: 0,
    });
    expect(applied.counts.linksInserted).toBeGreaterThan(0);
    const pairs = (files: readonly { name: string; sha256: string }[]) =>
      files.map((f) => `${f.name} ${f.sha256}`).sort();
    expect(pairs(applied.files)).toEqual(pairs(initial.files));
    const rows = (await admin.request<BatchView[]>("GET", `${PATHS.batches}?connector=HR&limit=100`)).body;
    expect(rows.map((b) => [b.id, b.state])).toEqual([[id, "applied"]]);
    expect(await server.store.batches.list({ connector: "HR", limit: 100 })).toHaveLength(1);
    expect(await counted(server.store, "HR")).toEqual({ Person: 300 });
    const text = await metricsOf(hr);
    expect(metric(text, "syncup_batches_synchronized_total", { connector: "HR", outcome: "applied" })).toBe(
      1,
    );
    expect(metric(text, "syncup_rows_applied_total", { kind: "resource", operation: "insert" })).toBe(300);

    // After the seal: a retried upload is still acknowledged; anything new is refused.
    expect((await hr.upload(id, person.name, person.body)).status).toBe(200);
    expectRefusal(await hr.upload(id, "Person.sorted.delta", person.body), 409, "BATCH_STATE");
    expectRefusal(await hr.request("DELETE", PATHS.batch(id)), 409, "BATCH_STATE");
    expect((await hr.batch(id)).body.state).toBe("applied");
  });

  it("applies each connector's batches in notification order, whatever the order of their seals", async () => {
    const { env, server, hr, ad, admin } = await setup({ thresholdsOff: true });
    writeHr(env, 300);
    const hr300 = await prepare(env, "HR", "complete");
    writeHr(env, 290);
    const hr290 = await prepare(env, "HR", "complete");
    writeAd(env, 0);
    const ad0 = await prepare(env, "AD", "complete");
    writeAd(env, 1);
    const ad1 = await prepare(env, "AD", "complete");

    interface Sent {
      id: string;
      seq: number;
      connector: string;
      /** The connector's k-th batch. */
      k: number;
      prepared: PreparedBatch;
    }
    const sent: Sent[] = [];
    for (let i = 0; i < 20; i++) {
      const connector = i % 2 === 0 ? "HR" : "AD";
      const k = Math.floor(i / 2);
      const prepared = connector === "HR" ? (k % 2 === 0 ? hr300 : hr290) : k % 2 === 0 ? ad0 : ad1;
      const api = connector === "HR" ? hr : ad;
      const answer = await api.notify(connector, "complete");
      expect(answer.status, answer.text).toBe(201);
      expect(answer.body).toMatchObject({ connector, mode: "complete", state: "notified", cancelled: [] });
      if (sent.length > 0) expect(answer.body.seq).toBeGreaterThan(sent[sent.length - 1]?.seq ?? 0);
      sent.push({ id: answer.body.id, seq: answer.body.seq, connector, k, prepared });
    }
    const pending = await hr.request<ConnectorStatus>("GET", PATHS.connector("HR"));
    expect(pending.body).toMatchObject({
      connector: "HR",
      pending: 10,
      lastAccepted: null,
      lastApplied: null,
    });

    // Uploaded and sealed newest first: every batch waits for the ones notified before it.
    for (const batch of [...sent].reverse()) {
      const api = batch.connector === "HR" ? hr : ad;
      const sealed = await api.send(batch.id, batch.prepared);
      expect(["sealed", "staging", "applied"]).toContain(sealed.state);
    }
    const views = new Map<string, BatchView>();
    for (const batch of sent)
      views.set(batch.id, await (batch.connector === "HR" ? hr : ad).waitFor(batch.id));
    await server.worker.idle();

    for (const connector of ["HR", "AD"]) {
      const mine = sent.filter((b) => b.connector === connector);
      const finished = mine.map((b) => views.get(b.id));
      for (const view of finished) expect(view?.state, view?.error ?? "").toBe("applied");
      for (let k = 1; k < finished.length; k++) {
        expect(Date.parse(finished[k]?.finishedAt ?? "")).toBeGreaterThan(
          Date.parse(finished[k - 1]?.finishedAt ?? ""),
        );
      }
      // What each batch changed shows it ran after the one before it, not after another.
      finished.forEach((view, k) => {
        const c = view?.counts;
        if (connector === "HR") {
          expect([c?.resourcesInserted, c?.resourcesDeleted]).toEqual(
            k === 0 ? [300, 0] : k % 2 === 1 ? [0, 10] : [10, 0],
          );
        } else {
          expect([c?.resourcesUpdated, c?.resourcesDeleted]).toEqual(k === 0 ? [0, 0] : [10, 0]);
        }
      });
      const status = (await admin.request<ConnectorStatus>("GET", PATHS.connector(connector))).body;
      expect(status).toMatchObject({ pending: 0, blocked: null, lastApplied: mine[mine.length - 1]?.id });
    }
    expect(await counted(server.store, "HR")).toEqual({ Person: 290 });

    // The repository is what the last complete of each connector alone makes of an empty one.
    const reference = await serve(await env.withDatabase(db.url()));
    servers.push(reference);
    const refApi = { HR: new Api(reference.url, AS_HR), AD: new Api(reference.url, AS_AD) };
    for (const prepared of [hr290, ad1]) {
      const api = refApi[prepared.connector as "HR" | "AD"];
      const notified = await api.notifyAndSend(prepared);
      expect((await api.waitFor(notified.id)).state).toBe("applied");
    }
    for (const connector of ["HR", "AD"]) {
      const actual = await snapshot(server.store, connector);
      const expected = await snapshot(reference.store, connector);
      expect(actual.resources.length).toBeGreaterThan(250);
      expect(actual.links.length + actual.mono.length).toBeGreaterThan(200);
      expect(actual).toEqual(expected);
    }
  });

  it("cancels the pending incrementals of a connector when a complete batch is notified", async () => {
    const { env, server, hr } = await setup();
    writeHr(env, 300);
    const initial = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
    expect((await hr.waitFor(initial.id)).state).toBe("applied");
    await accept(env, "HR", initial.id);

    writeHr(env, 290);
    const delta0 = await prepare(env, "HR", "incremental");
    expect(delta0.baseBatch).toBe(initial.id);
    expect(delta0.files.map((f) => f.name)).toEqual([
      "Person.sorted.delta",
      "Person_Manager.sorted.delta",
      "prepare.json",
    ]);
    const n0 = await hr.notifyAndSend(delta0);
    expect((await hr.waitFor(n0.id)).counts).toMatchObject({ resourcesDeleted: 10 });
    await accept(env, "HR", n0.id);

    // The queue stops (as in a shutdown): N1, based on N0, is sealed and stays pending.
    await server.worker.stop();
    writeHr(env, 295);
    const delta1 = await prepare(env, "HR", "incremental");
    expect(delta1.baseBatch).toBe(n0.id);
    const n1 = await hr.notifyAndSend(delta1);
    expect((await hr.batch(n1.id)).body.state).toBe("sealed");

    // C2 cancels N1, and only N1.
    writeHr(env, 300, 3);
    const complete300 = await prepare(env, "HR", "complete");
    const c2Answer = await hr.notify("HR", "complete");
    expect(c2Answer.status).toBe(201);
    const c2 = c2Answer.body;
    expect(c2.cancelled).toEqual([n1.id]);
    const cancelled = (await hr.batch(n1.id)).body;
    expect(cancelled.state).toBe("cancelled");
    expect(cancelled.error).toContain(c2.id);
    // No incremental may be notified behind a complete that is not sealed yet.
    const behind = await hr.notify("HR", "incremental", n0.id);
    expect(expectRefusal(behind, 409, "BASE_MISMATCH").message).toContain(c2.id);
    // Sealing N1 again does not bring it back.
    const resealed = await hr.seal(n1.id, delta1.files);
    expect(resealed.status).toBe(200);
    expect(resealed.body.state).toBe("cancelled");
    await hr.send(c2.id, complete300);
    expect((await hr.batch(c2.id)).body.state).toBe("sealed");

    // A new server on the same database picks the queue up: C2 applied, N1 never.
    await server.close();
    const again = await serve(env.config);
    servers.push(again);
    const hr2 = new Api(again.url, null).as(AS_HR);
    const v2 = await hr2.waitFor(c2.id);
    expect(v2.state).toBe("applied");
    expect(v2.counts).toMatchObject({ resourcesInserted: 10, resourcesDeleted: 0, resourcesUpdated: 3 });
    await again.worker.idle();
    const never = (await hr2.batch(n1.id)).body;
    expect(never).toMatchObject({ state: "cancelled", finishedAt: cancelled.finishedAt });
    expect(never.counts).toEqual({
      resourcesInserted: 0,
      resourcesUpdated: 0,
      resourcesDeleted: 0,
      linksInserted: 0,
      linksDeleted: 0,
      orphans: 0,
    });
    const text = await metricsOf(hr2);
    expect(metric(text, "syncup_batches", { state: "applied" })).toBe(3);
    expect(metric(text, "syncup_batches", { state: "cancelled" })).toBe(1);
    expect(await counted(again.store, "HR")).toEqual({ Person: 300 });
    const renamed = await again.store.resources.get("HR", "00001", "Person");
    expect(renamed[0]?.properties).toContain("Renamed Department");
  });

  it("refuses incrementals that drifted from the repository, and those notified while a batch is blocked", async () => {
    const { env, server, hr, admin, anonymous } = await setup();
    writeHr(env, 300);
    const initial = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
    expect((await hr.waitFor(initial.id)).state).toBe("applied");
    await accept(env, "HR", initial.id);

    // A base the server never saw, none at all, another connector's batch.
    let refused = expectRefusal(await hr.notify("HR", "incremental", randomUUID()), 409, "BASE_MISMATCH");
    expect(refused.message).toMatch(/has no batch .*complete/s);
    refused = expectRefusal(await hr.notify("HR", "incremental", null), 409, "BASE_MISMATCH");
    expect(refused.message).toContain("names none");
    const both = anonymous.as(AS_BOTH);
    const adBatch = (await both.notify("AD", "complete")).body;
    refused = expectRefusal(await hr.notify("HR", "incremental", adBatch.id), 409, "BASE_MISMATCH");
    expect(refused.message).toContain('belongs to connector "AD"');
    const abandoned = await both.request<BatchView>("DELETE", PATHS.batch(adBatch.id));
    expect(abandoned.status).toBe(200);
    expect(abandoned.body.state).toBe("cancelled");
    expect(existsSync(join(env.config.server.batchDir, adBatch.id))).toBe(false);
    expect((await both.request("DELETE", PATHS.batch(adBatch.id))).status).toBe(200);

    // A newer complete applied: an incremental based on the initial batch is stale.
    writeHr(env, 300, 2);
    const complete = await hr.notifyAndSend(await prepare(env, "HR", "complete"));
    expect((await hr.waitFor(complete.id)).state).toBe("applied");
    await accept(env, "HR", complete.id);
    refused = expectRefusal(await hr.notify("HR", "incremental", initial.id), 409, "BASE_MISMATCH");
    expect(refused.message).toContain("not the last one accepted");
    expect(refused.message).toContain(complete.id);

    // A complete that deletes half the people is blocked; incrementals are refused meanwhile.
    writeHr(env, 150);
    const big = await hr.notifyAndSend(await prepare(env, "HR", "complete"));
    const blocked = await hr.waitFor(big.id);
    expect(blocked.state).toBe("blocked");
    expect(blocked.counts.resourcesDeleted).toBe(150);
    await accept(env, "HR", big.id);
    expect((await hr.request<ConnectorStatus>("GET", PATHS.connector("HR"))).body).toEqual({
      connector: "HR",
      lastAccepted: big.id,
      lastApplied: complete.id,
      blocked: big.id,
      pending: 0,
    });
    refused = expectRefusal(await hr.notify("HR", "incremental", big.id), 409, "CONNECTOR_BLOCKED");
    expect(refused.message).toContain(big.id);
    const deletes = await admin.request<{ total: number; rows: unknown[] }>(
      "GET",
      `${PATHS.changes(big.id)}?operation=delete&kind=resource&limit=5`,
    );
    expect(deletes.status, deletes.text).toBe(200);
    expect(deletes.body.rows).toHaveLength(5);
    expect(await counted(server.store, "HR")).toEqual({ Person: 300 });

    // The administrator validates it: applied, and incrementals based on it are accepted again.
    const validated = await admin.request("POST", PATHS.validate(big.id));
    expect(validated.status, validated.text).toBe(200);
    expect((await hr.batch(big.id)).body.state).toBe("applied");
    writeHr(env, 148);
    const delta = await prepare(env, "HR", "incremental");
    expect(delta.baseBatch).toBe(big.id);
    const incremental = await hr.notifyAndSend(delta);
    const applied = await hr.waitFor(incremental.id);
    expect(applied.state, applied.error ?? "").toBe("applied");
    expect(applied.counts).toMatchObject({ resourcesDeleted: 2, resourcesInserted: 0 });
    expect(await counted(server.store, "HR")).toEqual({ Person: 148 });
  });

  it("keeps a batch's uploads across a restart, and serves metrics and the OpenAPI document", async () => {
    const { env, server, hr } = await setup();
    writeHr(env, 300);
    const initial = await prepare(env, "HR", "initial");
    const id = (await hr.notify("HR", "initial")).body.id;
    await hr.uploadAll(id, initial);
    expect((await hr.batch(id)).body).toMatchObject({ state: "notified", sealedAt: null });
    await server.close();

    const restarted = await serve(await env.reload());
    servers.push(restarted);
    const api = new Api(restarted.url, AS_HR);
    const before = (await api.batch(id)).body;
    expect(before.state).toBe("notified");
    expect(before.files.map((f) => f.name).sort()).toEqual(initial.files.map((f) => f.name).sort());
    // The agent's retry of an upload after the restart is acknowledged, not stored twice.
    expect((await api.upload(id, "prepare.json", initial.files[2]?.body ?? Buffer.alloc(0))).status).toBe(
      200,
    );
    const sealed = await api.seal(id, initial.files);
    expect(sealed.status, sealed.text).toBe(200);
    const applied = await api.waitFor(id);
    expect(applied.state, applied.error ?? "").toBe("applied");
    expect(applied.counts.resourcesInserted).toBe(300);
    expect(await counted(restarted.store, "HR")).toEqual({ Person: 300 });

    // Metrics: batches by state, refusals by code.
    expectRefusal(await api.as(null).request("GET", PATHS.batches), 401, "UNAUTHORIZED");
    expectRefusal(
      await api.as(bearer(AGENT_HR.id, "nope")).request("GET", PATHS.batches),
      401,
      "UNAUTHORIZED",
    );
    expectRefusal(await api.notify("AD", "complete"), 403, "FORBIDDEN");
    expectRefusal(await api.notify("HR", "incremental", null), 409, "BASE_MISMATCH");
    const metrics = await api.as(null).request("GET", PATHS.metrics);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect(metric(metrics.text, "syncup_batches", { state: "applied" })).toBe(1);
    expect(metric(metrics.text, "syncup_requests_refused_total", { code: "UNAUTHORIZED" })).toBe(2);
    expect(metric(metrics.text, "syncup_requests_refused_total", { code: "FORBIDDEN" })).toBe(1);
    expect(metric(metrics.text, "syncup_requests_refused_total", { code: "BASE_MISMATCH" })).toBe(1);
    expect(
      metric(metrics.text, "syncup_batches_synchronized_total", { connector: "HR", outcome: "applied" }),
    ).toBe(1);
    expect(metrics.text).toContain("# TYPE syncup_synchronization_seconds histogram");

    // Job history: an agent records its runs, under its own name, and sees its connectors' only.
    const job = { ...JOB_RUN, agent: "someone-else", batchId: id };
    const recorded = await api.request("POST", PATHS.jobInstances, { json: job });
    expect(recorded.status, recorded.text).toBe(201);
    expect(recorded.body).toMatchObject({ id: job.id, agent: AGENT_HR.id });
    expect((await api.request("POST", PATHS.jobInstances, { json: job })).status).toBe(200);
    expectRefusal(
      await api.as(AS_AD).request("POST", PATHS.jobInstances, { json: { ...job, id: "x" } }),
      403,
      "FORBIDDEN",
    );
    expect((await api.as(AS_AD).request("GET", PATHS.jobInstances)).body).toEqual([]);
    const history = await api
      .as(AS_ADMIN)
      .request<{ id: string; agent: string }[]>("GET", PATHS.jobInstances);
    expect(history.body.map((j) => [j.id, j.agent])).toEqual([[job.id, AGENT_HR.id]]);

    // Health, OpenAPI, docs.
    expect((await api.as(null).request("GET", PATHS.health)).body).toMatchObject({ status: "ok" });
    const openapi = await api
      .as(null)
      .request<{ openapi: string; paths: Record<string, object> }>("GET", PATHS.openapi);
    expect(openapi.status).toBe(200);
    expect(openapi.body.openapi).toMatch(/^3\./);
    const routes = Object.entries(openapi.body.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(routes).toEqual(
      [
        "GET /health",
        "GET /ready",
        "GET /metrics",
        "POST /api/v1/batches",
        "GET /api/v1/batches",
        "GET /api/v1/batches/{id}",
        "DELETE /api/v1/batches/{id}",
        "PUT /api/v1/batches/{id}/files/{name}",
        "POST /api/v1/batches/{id}/seal",
        "GET /api/v1/batches/{id}/changes",
        "POST /api/v1/batches/{id}/validate",
        "POST /api/v1/batches/{id}/cancel",
        "POST /api/v1/batches/{id}/decisions",
        "POST /api/v1/batches/{id}/apply",
        "POST /api/v1/batches/{id}/undo",
        "GET /api/v1/connectors",
        "GET /api/v1/connectors/{name}",
        "POST /api/v1/job-instances",
        "GET /api/v1/job-instances",
        "GET /api/v1/jobs",
        "POST /api/v1/jobs/{name}/run",
        "GET /api/v1/orphans",
        "GET /api/v1/changes",
        "GET /api/v1/changes/sinks",
        "POST /api/v1/changes/sinks/{sink}/replay",
        "GET /api/v1/resources",
        "GET /api/v1/resources/{id}",
        "GET /api/v1/resources/{id}/history",
        "GET /api/v1/history",
        "POST /api/v1/session",
        "GET /api/v1/session",
        "DELETE /api/v1/session",
      ].sort(),
    );
    // Every API route documents the refusals any request may meet: its schema, its token, the limit.
    for (const [path, methods] of Object.entries(openapi.body.paths)) {
      if (!path.startsWith("/api/")) continue;
      for (const [method, operation] of Object.entries(methods as Record<string, { responses: object }>)) {
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(["400", "401", "429"]),
        );
      }
    }
    const docs = await api.as(null).request("GET", `${PATHS.docs}/`);
    expect(docs.status).toBe(200);
    expect(docs.text).toContain("<html");
    expect(existsSync(join(env.config.server.batchDir, id, "prepare.json"))).toBe(true);
  });
});
