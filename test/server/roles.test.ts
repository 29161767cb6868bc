/**
 * Named administrators over real HTTP on SQLite and PostgreSQL: a viewer reads batches and
 * their changes but may not decide (403 FORBIDDEN naming the approver role), an approver
 * decides, `server.adminTokenHash` is an approver named admin, and a wrong token of a named
 * administrator is refused like any other.
 */
import { afterAll, describe, expect, it } from "vitest";
import { PATHS } from "../../src/protocol/api.js";
import { testDatabases } from "../store/dialects.js";
import { APPROVER, VIEWER, serveWithAdmins } from "./admins.js";
import {
  AS_ADMIN,
  Api,
  bearer,
  cleanedAfterEach,
  expectRefusal,
  makeEnv,
  prepare,
  serve,
  writeHr,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("administrators' roles on $dialect", (db) => {
  const { envs, servers } = cleanedAfterEach();

  it("a viewer reads and may not decide; an approver decides", async () => {
    const { env, anonymous, hr, viewer, approver } = await serveWithAdmins(db.url(), { envs, servers });

    writeHr(env, 300);
    const initial = await hr.notifyAndSend(await prepare(env, "HR", "initial"));
    expect((await hr.waitFor(initial.id)).state).toBe("applied");
    // Half the people deleted: blocked by the thresholds.
    writeHr(env, 150);
    const big = await hr.notifyAndSend(await prepare(env, "HR", "complete"));
    expect((await hr.waitFor(big.id)).state).toBe("blocked");

    expect((await viewer.batch(big.id)).body.state).toBe("blocked");
    const changes = await viewer.request<{ rows: unknown[] }>("GET", `${PATHS.changes(big.id)}?limit=3`);
    expect(changes.status, changes.text).toBe(200);
    expect(changes.body.rows).toHaveLength(3);

    for (const path of [PATHS.validate(big.id), PATHS.cancel(big.id)]) {
      const refused = expectRefusal(await viewer.request("POST", path), 403, "FORBIDDEN");
      expect(refused.message).toContain("approver role");
      expect(refused.message).toContain(`"${VIEWER.id}" is a viewer`);
    }
    expect((await viewer.batch(big.id)).body.state).toBe("blocked");

    // A wrong token of a named administrator, and an agent, are refused as before.
    expectRefusal(
      await anonymous.as(bearer(APPROVER.id, "wrong")).request("POST", PATHS.validate(big.id)),
      401,
      "UNAUTHORIZED",
    );
    expectRefusal(await hr.request("POST", PATHS.validate(big.id)), 403, "FORBIDDEN");

    const cancelled = await approver.request("POST", PATHS.cancel(big.id));
    expect(cancelled.status, cancelled.text).toBe(200);
    expect((await viewer.batch(big.id)).body.state).toBe("cancelled");
  });

  it("server.adminTokenHash is an approver named admin", async () => {
    const env = await makeEnv(db.url());
    envs.push(env);
    expect(env.config.server.admins["admin"]?.role).toBe("approver");
    const server = await serve(env.config);
    servers.push(server);
    const admin = new Api(server.url, AS_ADMIN);
    // Deciding on a batch that does not exist: past the role check, refused by the service.
    expectRefusal(
      await admin.request("POST", PATHS.cancel("00000000-0000-4000-8000-000000000000")),
      404,
      "BATCH_NOT_FOUND",
    );
  });
});
