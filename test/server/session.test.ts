/**
 * The console's sign-in over real HTTP: a named administrator exchanges `<name>:<token>` for a
 * session cookie (HttpOnly, SameSite=Strict, Path=/) and a CSRF token; the cookie authenticates
 * reads; a change through the cookie without the CSRF token is refused (403 CSRF) while a
 * bearer token needs none; sign-out ends the session; an agent cannot sign in; failed sign-ins
 * are throttled like wrong bearer tokens.
 */
import { afterAll, describe, expect, it } from "vitest";
import { PATHS } from "../../src/protocol/api.js";
import { testDatabases } from "../store/dialects.js";
import { APPROVER, AS_APPROVER, VIEWER, withAdmins } from "./admins.js";
import { AGENT_HR, Api, cleanedAfterEach, expectRefusal, makeEnv, serve } from "./helpers.js";

const [sqlite] = testDatabases();
afterAll(async () => {
  await sqlite?.cleanup();
});

const SESSION = "/api/v1/session";
const UNKNOWN_BATCH = "00000000-0000-4000-8000-000000000000";

interface SessionView {
  id: string;
  role: string;
  csrfToken: string;
  expiresAt: string;
}

describe("console sessions over HTTP", () => {
  const { envs, servers } = cleanedAfterEach();

  async function setup(server: Record<string, unknown> = {}) {
    const env = await makeEnv(sqlite?.url() ?? "sqlite::memory:");
    envs.push(env);
    const running = await serve(await withAdmins(env, server));
    servers.push(running);
    return new Api(running.url, null);
  }

  async function signIn(api: Api, token: string) {
    const answer = await api.request<SessionView>("POST", SESSION, { json: { token } });
    const cookie = (answer.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    return { answer, cookie };
  }

  it("signs in, reads with the cookie, needs the CSRF token for changes, signs out", async () => {
    const api = await setup();
    const { answer, cookie } = await signIn(api, `${APPROVER.id}:${APPROVER.token}`);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ id: APPROVER.id, role: "approver" });
    expect(Date.parse(answer.body.expiresAt)).toBeGreaterThan(Date.now());
    const setCookie = answer.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^syncup_session=[\w-]{43};/);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toMatch(/; Secure/); // plain HTTP here; Secure over HTTPS

    const withCookie = (headers: Record<string, string> = {}) => ({ headers: { cookie, ...headers } });
    const again = await api.request<SessionView>("GET", SESSION, withCookie());
    expect(again.body).toEqual({ ...answer.body, expiresAt: again.body.expiresAt });
    const list = await api.request("GET", PATHS.batches, withCookie());
    expect(list.status, list.text).toBe(200);

    // A change through the cookie: without the token, with a wrong one, with the right one.
    const csrf = expectRefusal(
      await api.request("POST", PATHS.cancel(UNKNOWN_BATCH), withCookie()),
      403,
      "CSRF",
    );
    expect(csrf.message).toContain("x-csrf-token");
    expectRefusal(
      await api.request("POST", PATHS.cancel(UNKNOWN_BATCH), withCookie({ "x-csrf-token": "forged" })),
      403,
      "CSRF",
    );
    expectRefusal(
      await api.request(
        "POST",
        PATHS.cancel(UNKNOWN_BATCH),
        withCookie({ "x-csrf-token": answer.body.csrfToken }),
      ),
      404,
      "BATCH_NOT_FOUND",
    );
    // A bearer token needs no CSRF token (a browser never sends one on its own).
    expectRefusal(
      await api.as(AS_APPROVER).request("POST", PATHS.cancel(UNKNOWN_BATCH)),
      404,
      "BATCH_NOT_FOUND",
    );

    // Sign-out is a change too; then the cookie is worth nothing.
    expectRefusal(await api.request("DELETE", SESSION, withCookie()), 403, "CSRF");
    const out = await api.request("DELETE", SESSION, withCookie({ "x-csrf-token": answer.body.csrfToken }));
    expect(out.status, out.text).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/^syncup_session=;.*Max-Age=0/);
    const ended = expectRefusal(await api.request("GET", SESSION, withCookie()), 401, "UNAUTHORIZED");
    expect(ended.message).toContain("sign in again");
    expectRefusal(await api.request("GET", PATHS.batches, withCookie()), 401, "UNAUTHORIZED");
  });

  it("a viewer's session reads and may not decide", async () => {
    const api = await setup();
    const { answer, cookie } = await signIn(api, `${VIEWER.id}:${VIEWER.token}`);
    expect(answer.body.role).toBe("viewer");
    const refused = expectRefusal(
      await api.request("POST", PATHS.validate(UNKNOWN_BATCH), {
        headers: { cookie, "x-csrf-token": answer.body.csrfToken },
      }),
      403,
      "FORBIDDEN",
    );
    expect(refused.message).toContain("approver role");
  });

  it("refuses wrong tokens and agents, and throttles failed sign-ins", async () => {
    const api = await setup({ rateLimit: { failedAuthentications: 2, windowSeconds: 60 } });
    expectRefusal((await signIn(api, `${AGENT_HR.id}:${AGENT_HR.secret}`)).answer, 403, "FORBIDDEN");
    expectRefusal((await signIn(api, "no-colon")).answer, 401, "UNAUTHORIZED");
    expectRefusal((await signIn(api, `${VIEWER.id}:wrong`)).answer, 401, "UNAUTHORIZED");
    expectRefusal((await signIn(api, `${VIEWER.id}:wrong-again`)).answer, 401, "UNAUTHORIZED");
    const limited = (await signIn(api, `${VIEWER.id}:${VIEWER.token}`)).answer;
    expectRefusal(limited, 429, "RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await api.request("POST", SESSION, { json: { token: "a:b", extra: 1 } })).status).toBe(400);
  });

  it("the session routes are in the OpenAPI document", async () => {
    const api = await setup();
    const doc = await api.request<{ paths: Record<string, Record<string, unknown>> }>("GET", "/openapi.json");
    expect(Object.keys(doc.body.paths[SESSION] ?? {}).sort()).toEqual(["delete", "get", "post"]);
  });
});
