/**
 * Failed authentications are limited (`server.rateLimit`), over real HTTP and Fastify inject
 * (for other client addresses), on SQLite and PostgreSQL: wrong secrets from one address, or
 * for one agent id from many, are refused with 429 RATE_LIMITED and Retry-After once the limit
 * is spent, before any secret is checked; an agent with the right secret goes on working; the
 * refusals are counted in /metrics; the limit ends with its window.
 */
import { afterAll, describe, expect, it } from "vitest";
import { PATHS, type ApiError } from "../../src/protocol/api.js";
import type { RunningServer } from "../../src/server/server.js";
import { testDatabases } from "../store/dialects.js";
import {
  ADMIN_TOKEN,
  AGENT_AD,
  AGENT_HR,
  AS_AD,
  AS_HR,
  Api,
  cleanedAfterEach,
  bearer,
  expectRefusal,
  makeEnv,
  metric,
  serve,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const LIMIT = 3;
const WINDOW_SECONDS = 4;

describe.each(databases)("failed authentications limited on $dialect", (db) => {
  const { envs, servers } = cleanedAfterEach();

  async function setup() {
    const env = await makeEnv(db.url(), {
      rateLimit: { failedAuthentications: LIMIT, windowSeconds: WINDOW_SECONDS },
    });
    envs.push(env);
    const server = await serve(env.config);
    servers.push(server);
    return { env, server, anonymous: new Api(server.url, null) };
  }

  /** A request from another client address (Fastify inject). */
  async function from(server: RunningServer, address: string, authorization: string) {
    const answer = await server.app.inject({
      method: "GET",
      url: PATHS.batches,
      remoteAddress: address,
      headers: { authorization },
    });
    return { status: answer.statusCode, body: answer.json<ApiError>(), headers: answer.headers };
  }

  it("refuses an address that sent too many wrong secrets (429, Retry-After); a verified agent goes on", async () => {
    const { anonymous } = await setup();
    const hr = anonymous.as(AS_HR);
    expect((await hr.notify("HR", "complete")).status).toBe(201);

    const wrong = anonymous.as(bearer(AGENT_HR.id, "not-the-secret"));
    for (let i = 0; i < LIMIT; i++)
      expectRefusal(await wrong.request("GET", PATHS.batches), 401, "UNAUTHORIZED");
    const limited = await wrong.request("GET", PATHS.batches);
    const refused = expectRefusal(limited, 429, "RATE_LIMITED");
    expect(refused.message).toContain("from address 127.0.0.1");
    expect(refused.message).toContain(`for agent id "${AGENT_HR.id}"`);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
    // Another id from that address is refused too, even with the right secret: it is not checked.
    expectRefusal(await anonymous.as(AS_AD).request("GET", PATHS.batches), 429, "RATE_LIMITED");

    // The agent whose token verified before is not slowed down, from the same address.
    for (let i = 0; i < 20; i++) expect((await hr.request("GET", PATHS.batches)).status).toBe(200);
    expect((await hr.notify("HR", "complete")).status).toBe(201);
    // Unauthenticated requests that check no secret are answered as before.
    expectRefusal(await anonymous.request("GET", PATHS.batches), 401, "UNAUTHORIZED");

    let text = (await anonymous.request("GET", PATHS.metrics)).text;
    expect(metric(text, "syncup_requests_refused_total", { code: "RATE_LIMITED" })).toBe(2);
    expect(metric(text, "syncup_requests_refused_total", { code: "UNAUTHORIZED" })).toBe(LIMIT + 1);

    // Once the window has passed, secrets are checked again.
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
    expect((await anonymous.as(AS_AD).request("GET", PATHS.batches)).status).toBe(200);
    expectRefusal(await wrong.request("GET", PATHS.batches), 401, "UNAUTHORIZED");
    text = (await anonymous.request("GET", PATHS.metrics)).text;
    expect(metric(text, "syncup_requests_refused_total", { code: "RATE_LIMITED" })).toBe(2);
  });

  it("refuses an agent id that failed too often from many addresses, and counts unknown ids as one", async () => {
    const { server } = await setup();
    // Wrong secrets for agent-hr, each from another address: the id's counter is spent.
    for (let i = 1; i <= LIMIT; i++) {
      expect((await from(server, `10.0.0.${i}`, bearer(AGENT_HR.id, `wrong-${i}`))).status).toBe(401);
    }
    const limited = await from(server, "10.0.1.1", bearer(AGENT_HR.id, AGENT_HR.secret));
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ statusCode: 429, code: "RATE_LIMITED" });
    expect(limited.body.message).toContain(`for agent id "${AGENT_HR.id}"`);
    expect(limited.body.message).not.toContain("from address");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);

    // Other ids are not affected: agent-ad and the administrator still authenticate.
    expect((await from(server, "10.0.1.2", bearer(AGENT_AD.id, AGENT_AD.secret))).status).toBe(200);
    expect((await from(server, "10.0.1.3", bearer("admin", ADMIN_TOKEN))).status).toBe(200);

    // Ids no agent has share one counter: inventing new ones does not buy more secret checks.
    for (let i = 1; i <= LIMIT; i++) {
      expect((await from(server, `10.0.2.${i}`, bearer(`nobody-${i}`, "x"))).status).toBe(401);
    }
    const unknown = await from(server, "10.0.3.1", bearer("nobody-else", "x"));
    expect(unknown.status).toBe(429);
    expect(unknown.body.message).toContain('for agent id "(unknown agent)"');
    // Not even an id spelled like a property of every object.
    expect((await from(server, "10.0.3.2", bearer("__proto__", "x"))).status).toBe(429);

    const text = (await server.app.inject({ method: "GET", url: PATHS.metrics })).body;
    expect(metric(text, "syncup_requests_refused_total", { code: "RATE_LIMITED" })).toBe(3);
    expect(metric(text, "syncup_requests_refused_total", { code: "UNAUTHORIZED" })).toBe(2 * LIMIT);
  });
});

describe("server.rateLimit", () => {
  it("defaults to 10 failed authentications per address and per agent id within 60 s", async () => {
    const db = databases[0];
    if (db === undefined) throw new Error("no database");
    const env = await makeEnv(db.url());
    try {
      expect(env.config.server.rateLimit).toEqual({ failedAuthentications: 10, windowMs: 60_000 });
    } finally {
      env.cleanup();
    }
  });
});
