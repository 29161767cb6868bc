/**
 * The HTTP edge's refusals, over real HTTP on SQLite and PostgreSQL: whatever a client sends,
 * the answer is a documented `ApiError` (never a 500), the refusal is logged and counted, and
 * nothing is stored. NUL characters anywhere in a request; JSON bodies over 1 MiB; unknown
 * properties; path parameters and headers too large; bytes that are not HTTP; uploads into an
 * abandoned batch; seals whose prepare.json is not a manifest.
 */
import { connect } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { PATHS, type BatchView } from "../../src/protocol/api.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { testDatabases } from "../store/dialects.js";
import {
  AS_ADMIN,
  AS_HR,
  Api,
  cleanedAfterEach,
  expectRefusal,
  JOB_RUN,
  makeEnv,
  metric,
  prepare,
  sha256,
  writeHr,
  type TestEnv,
  UPLOAD_TASK,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

/** A server whose log lines are kept, to assert what it logged. */
async function logged(
  env: TestEnv,
): Promise<{ server: RunningServer; lines: () => Record<string, unknown>[] }> {
  const text: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString("utf8"));
      done();
    },
  });
  const server = await startServer(env.config, { port: 0, pollMs: 50, log: pino({ level: "info" }, sink) });
  const lines = () =>
    text
      .join("")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { server, lines };
}

/** Sends `bytes` on a raw connection and answers everything the server wrote back. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    const answer: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => answer.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(answer).toString("utf8")));
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer")));
  });
}

describe.each(databases)("the HTTP edge's refusals on $dialect", (db) => {
  const { envs, servers } = cleanedAfterEach();

  async function setup() {
    const env = await makeEnv(db.url());
    envs.push(env);
    const { server, lines } = await logged(env);
    servers.push(server);
    const anonymous = new Api(server.url, null);
    return { env, server, lines, anonymous, hr: anonymous.as(AS_HR), admin: anonymous.as(AS_ADMIN) };
  }

  async function refusedCount(api: Api, code: string): Promise<number | undefined> {
    return metric((await api.as(null).request("GET", PATHS.metrics)).text, "syncup_requests_refused_total", {
      code,
    });
  }

  it("refuses a NUL character in any path parameter, query parameter or JSON body field (400 REQUEST_INVALID)", async () => {
    const { server, hr, admin, lines } = await setup();
    const notified = await hr.notify("HR", "initial");
    expect(notified.status, notified.text).toBe(201);
    const id = notified.body.id;
    const job = JOB_RUN;
    const task = UPLOAD_TASK;
    const requests: [
      Api,
      string,
      string,
      { json?: unknown; body?: Buffer; headers?: Record<string, string> }?,
    ][] = [
      [admin, "GET", `${PATHS.batches}?connector=HR%00`],
      [hr, "GET", `${PATHS.batches}?connector=%00`],
      [admin, "GET", `${PATHS.batches}/abc%00`],
      [admin, "GET", `${PATHS.batches}/${id}%00`],
      [hr, "DELETE", `${PATHS.batches}/${id}%00`],
      [admin, "GET", `${PATHS.batches}/abc%00/changes`],
      [admin, "GET", `${PATHS.changes(id)}?entityType=Person%00`],
      [admin, "GET", `${PATHS.changes(id)}?operation=insert&entityType=%00`],
      [admin, "POST", `${PATHS.batches}/abc%00/validate`],
      [admin, "POST", `${PATHS.batches}/abc%00/cancel`],
      [hr, "GET", `${PATHS.connector("HR")}%00`],
      [admin, "GET", `${PATHS.jobInstances}?job=HR_daily%00`],
      [hr, "GET", `${PATHS.jobInstances}?job=%00`],
      [hr, "POST", PATHS.batches, { json: { connector: "HR\u0000", mode: "complete", baseBatch: null } }],
      [hr, "POST", PATHS.batches, { json: { connector: "HR", mode: "incremental", baseBatch: "b\u0000" } }],
      [
        hr,
        "PUT",
        `${PATHS.batches}/${id}/files/prepare.json%00`,
        { body: Buffer.from("{}"), headers: { "x-content-sha256": sha256("{}") } },
      ],
      [
        hr,
        "POST",
        PATHS.seal(id),
        { json: { files: [{ name: "prepare.json\u0000", sha256: "a".repeat(64) }] } },
      ],
      [hr, "POST", PATHS.jobInstances, { json: { ...job, message: "failed: \u0000" } }],
      [hr, "POST", PATHS.jobInstances, { json: { ...job, job: "HR\u0000daily" } }],
      [
        hr,
        "POST",
        PATHS.jobInstances,
        { json: { ...job, tasks: [{ ...task, counts: { "fi\u0000les": 3 } }] } },
      ],
      [hr, "POST", PATHS.jobInstances, { json: { ...job, tasks: [{ ...task, message: "\u0000" }] } }],
    ];
    for (const [api, method, path, options] of requests) {
      const answer = await api.request(method, path, options);
      const refused = expectRefusal(answer, 400, "REQUEST_INVALID");
      expect(refused.message, `${method} ${path}`).toContain("NUL character (U+0000)");
    }
    // The refusal names where the NUL is.
    const named = await hr.request("POST", PATHS.jobInstances, {
      json: { ...job, tasks: [{ ...task, message: "\u0000" }] },
    });
    expect((named.body as { message: string }).message).toContain('body\'s "tasks[0].message"');

    // Nothing was stored, the server goes on, and every refusal was logged and counted.
    expect((await admin.request<BatchView[]>("GET", PATHS.batches)).body.map((b) => b.id)).toEqual([id]);
    expect((await admin.request<unknown[]>("GET", PATHS.jobInstances)).body).toEqual([]);
    expect((await hr.batch(id)).body).toMatchObject({ state: "notified", files: [] });
    expect(await refusedCount(hr, "REQUEST_INVALID")).toBe(requests.length + 1);
    const warnings = lines().filter((l) => l["code"] === "REQUEST_INVALID");
    expect(warnings).toHaveLength(requests.length + 1);
    expect(warnings[0]).toMatchObject({ level: 40, status: 400, principal: "admin" });
    expect(lines().filter((l) => (l["level"] as number) >= 50)).toEqual([]);
    await server.worker.idle();
  });

  it("refuses unknown properties of a JSON body, naming them, instead of dropping them", async () => {
    const { hr } = await setup();
    let refused = expectRefusal(
      await hr.request("POST", PATHS.batches, {
        json: { connector: "HR", mode: "complete", baseBatch: null, force: true },
      }),
      400,
      "REQUEST_INVALID",
    );
    expect(refused.message).toContain('body has an unknown property "force"');
    const id = (await hr.notify("HR", "initial")).body.id;
    refused = expectRefusal(
      await hr.request("POST", PATHS.seal(id), {
        json: { files: [{ name: "prepare.json", sha256: "a".repeat(64), bytes: 2 }] },
      }),
      400,
      "REQUEST_INVALID",
    );
    expect(refused.message).toContain('body/files/0 has an unknown property "bytes"');
    // Only the notification made without the unknown property exists.
    expect((await hr.request<BatchView[]>("GET", PATHS.batches)).body.map((b) => b.id)).toEqual([id]);
  });

  it("answers a JSON body over 1 MiB with 413 BODY_TOO_LARGE, not the file limit's code", async () => {
    const { hr } = await setup();
    const huge = { connector: "HR", mode: "complete", baseBatch: null, id: "x".repeat(1024 * 1024) };
    const refused = expectRefusal(
      await hr.request("POST", PATHS.batches, { json: huge }),
      413,
      "BODY_TOO_LARGE",
    );
    expect(refused.message).toContain("1 MiB");
    expect(await refusedCount(hr, "BODY_TOO_LARGE")).toBe(1);
    expect(await refusedCount(hr, "FILE_TOO_LARGE")).toBeUndefined();
    // The connection was not left broken: the same client goes on.
    expect((await hr.notify("HR", "complete")).status).toBe(201);
  });

  it("refuses path parameters and headers too large (414, 431) and bytes that are not HTTP, logged and counted", async () => {
    const { server, hr, lines } = await setup();
    const id = (await hr.notify("HR", "initial")).body.id;
    // The longest file name a mapping may have is read (and refused for its mapping, not its length).
    const longest = `${"M".repeat(128)}.sorted.delta`;
    expectRefusal(await hr.upload(id, longest, Buffer.from("x")), 400, "FILE_NAME_INVALID");

    // An escape that decodes to no character.
    const escape = expectRefusal(
      await hr.request("GET", `${PATHS.batches}/%E0%A4%A`),
      400,
      "REQUEST_INVALID",
    );
    expect(escape.message).toContain("not a valid url component");
    const tooLong = expectRefusal(await hr.batch("b".repeat(300)), 414, "URI_TOO_LONG");
    expect(tooLong.message).toContain("256");
    const headers = expectRefusal(
      await hr.request("GET", PATHS.batches, { headers: { "x-padding": "p".repeat(20_000) } }),
      431,
      "HEADERS_TOO_LARGE",
    );
    expect(headers.message).toContain("KiB");
    const url = expectRefusal(
      await hr.request("GET", `${PATHS.batches}?connector=${"c".repeat(20_000)}`),
      431,
      "HEADERS_TOO_LARGE",
    );
    expect(url.message).toContain("URL");
    const garbage = await rawExchange(server.url, "HELLO\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.slice(garbage.indexOf("\r\n\r\n") + 4))).toMatchObject({
      statusCode: 400,
      code: "REQUEST_INVALID",
    });

    expect(await refusedCount(hr, "URI_TOO_LONG")).toBe(1);
    expect(await refusedCount(hr, "HEADERS_TOO_LARGE")).toBe(2);
    expect(await refusedCount(hr, "REQUEST_INVALID")).toBe(2);
    const codes = lines()
      .filter((l) => l["level"] === 40)
      .map((l) => l["code"]);
    expect(codes).toEqual([
      "FILE_NAME_INVALID",
      "REQUEST_INVALID",
      "URI_TOO_LONG",
      "HEADERS_TOO_LARGE",
      "HEADERS_TOO_LARGE",
      "REQUEST_INVALID",
    ]);
    // The server still answers.
    expect((await hr.batch(id)).status).toBe(200);
  });

  it("refuses an upload into a batch the agent abandoned, even of a file it holds (409 BATCH_STATE)", async () => {
    const { hr } = await setup();
    const id = (await hr.notify("HR", "initial")).body.id;
    const body = Buffer.from('{"connector":"HR"}');
    expect((await hr.upload(id, "prepare.json", body)).status).toBe(201);
    expect((await hr.upload(id, "prepare.json", body)).status).toBe(200);
    expect((await hr.request<BatchView>("DELETE", PATHS.batch(id))).body.state).toBe("cancelled");
    const refused = expectRefusal(await hr.upload(id, "prepare.json", body), 409, "BATCH_STATE");
    expect(refused.message).toContain("cancelled");
    expectRefusal(await hr.upload(id, "Person.sorted.csv", body), 409, "BATCH_STATE");
  });

  it("refuses a seal whose prepare.json is not a manifest (400 PREPARED_MANIFEST_INVALID), leaving the batch notified", async () => {
    const { env, hr } = await setup();
    writeHr(env, 20);
    const initial = await prepare(env, "HR", "initial");
    const prepared = initial.files.filter((f) => f.name !== "prepare.json");
    const real = JSON.parse(
      initial.files.find((f) => f.name === "prepare.json")?.body.toString() ?? "",
    ) as Record<string, unknown>;
    const broken: [string, unknown, string][] = [
      ["null", null, "the manifest: expected an object, found null"],
      ["a null file", { ...real, files: [null] }, "files[0]: expected an object, found null"],
      ["files not an array", { ...real, files: "x" }, 'files: expected an array, found "x"'],
      ["no files", { ...real, files: undefined }, "files: missing"],
      [
        "a file outside the folder",
        { ...real, files: [{ ...(real["files"] as object[])[0], file: "../x.csv" }] },
        "files[0].file",
      ],
    ];
    for (const [what, manifest, problem] of broken) {
      const id = (await hr.notify("HR", "initial")).body.id;
      const json = Buffer.from(manifest === null ? "null" : JSON.stringify(manifest));
      const files = [...prepared, { name: "prepare.json", body: json, sha256: sha256(json) }];
      await hr.uploadAll(id, { connector: "HR", mode: "initial", baseBatch: null, files });
      const refused = expectRefusal(await hr.seal(id, files), 400, "PREPARED_MANIFEST_INVALID");
      expect(refused.message, what).toContain(problem);
      expect(refused.message).toContain(`prepare.json of batch ${id}`);
      expect((await hr.batch(id)).body.state, what).toBe("notified");
      // The agent abandons it, so that it does not hold up the connector's queue.
      expect((await hr.request("DELETE", PATHS.batch(id))).status).toBe(200);
    }
    // Not JSON at all.
    const id = (await hr.notify("HR", "initial")).body.id;
    const text = Buffer.from("{not json");
    const files = [...prepared, { name: "prepare.json", body: text, sha256: sha256(text) }];
    await hr.uploadAll(id, { connector: "HR", mode: "initial", baseBatch: null, files });
    expect(expectRefusal(await hr.seal(id, files), 400, "PREPARED_MANIFEST_INVALID").message).toContain(
      "not JSON",
    );
    expect((await hr.request("DELETE", PATHS.batch(id))).status).toBe(200);
    expect(await refusedCount(hr, "PREPARED_MANIFEST_INVALID")).toBe(broken.length + 1);
    // The real manifest seals.
    const good = await hr.notify("HR", "initial");
    const sealed = await hr.send(good.body.id, initial);
    expect(["sealed", "staging", "applied"]).toContain(sealed.state);
  });
});
