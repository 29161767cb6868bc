/**
 * Every route of the API with random parameters (Fastify inject, on SQLite and PostgreSQL):
 * strings with NUL characters, lone surrogates, emoji, path segments (`../`), property names of
 * every object (`__proto__`), numbers out of range, huge values, values of the wrong type and
 * unknown properties, in path parameters, query parameters, JSON body fields and upload
 * headers; as the administrator, as an agent, with a wrong secret and with none. Whatever the
 * request, the answer is a 2xx, or an `ApiError` with a documented code (`src/errors.ts`) and
 * its status: never a 5xx. Fixed seed, bounded runs: the same requests on every run.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors.js";
import { API_PREFIX, SHA256_HEADER } from "../../src/protocol/api.js";
import type { RunningServer } from "../../src/server/server.js";
import { testDatabases } from "../store/dialects.js";
import {
  AS_ADMIN,
  AS_BOTH,
  AS_HR,
  Api,
  bearer,
  JOB_RUN,
  makeEnv,
  serve,
  sha256,
  UPLOAD_TASK,
  type TestEnv,
} from "./helpers.js";

const SEED = 20261203;
const RUNS = 200;

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const odd = fc.oneof(
  fc.constantFrom(
    "",
    "\0",
    "HR\0",
    "\0HR",
    "\uD800",
    "\uDFFF",
    "💥",
    "Ωmega",
    "../",
    "../../etc/passwd",
    "..\\..\\x",
    "..%2F",
    "%00",
    "%",
    "?",
    "#",
    "&",
    "=",
    "/",
    " ",
    "\r\n",
    "__proto__",
    "constructor",
    "toString",
    "prepare.json",
    "Person.sorted.csv",
    "Person.sorted.delta",
    "HR",
    "AD",
    "admin",
    "applied",
    "-1",
    "0",
    "1e309",
    "NaN",
    "true",
    "null",
  ),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.string({ unit: "binary-ascii", minLength: 200, maxLength: 400 }),
  fc.constantFrom("x".repeat(5_000), "\0".repeat(300), "é".repeat(2_000)),
);

/** A JSON value of any type, odd strings most often. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: odd },
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, [], {}, Number.MAX_SAFE_INTEGER + 2, -0),
  fc.array(odd, { maxLength: 3 }),
  fc.dictionary(odd, odd, { maxKeys: 3 }),
);

/** Percent-encodes every UTF-8 byte that is not unreserved (lone surrogates too, as U+FFFD). */
function encoded(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * A path or query value: percent-encoded (NUL as %00), as it is where the URL allows, or with
 * an escape cut short (`%E0%A4%`, not UTF-8 once decoded).
 */
const inUrl = (value: string) =>
  fc.constantFrom(
    encoded(value),
    encoded(value).replace(/%2F/g, "/").replace(/%2E/g, "."),
    `${encoded(value)}%E0%A4%`,
  );

interface Fuzzed {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

/** The ids worth trying besides random ones: a real batch, and a GUID nobody notified. */
const known: { batch: string } = { batch: "00000000-0000-4000-8000-000000000000" };
const id = fc.oneof(fc.constant(null), odd).map((v) => v ?? known.batch);
const pathValue = (value: fc.Arbitrary<string>) => value.chain(inUrl);

/** A query string of some of `names` (and perhaps an unknown one), with odd or typical values. */
function query(names: readonly string[], typical: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .array(
      fc
        .tuple(fc.oneof(fc.constantFrom(...names), odd), fc.oneof(typical, odd))
        .chain(([name, value]) => fc.tuple(inUrl(name), inUrl(value)).map(([n, v]) => `${n}=${v}`)),
      { maxLength: 4 },
    )
    .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.join("&")}`));
}

/** A valid body with one field replaced by anything, one removed, or one unknown added. */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = Object.keys(valid);
  return fc
    .oneof(
      fc.tuple(fc.constantFrom(...keys), anyValue).map(([key, value]) => ({ ...valid, [key]: value })),
      fc
        .constantFrom(...keys)
        .map((key) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))),
      fc.tuple(odd, anyValue).map(([key, value]) => ({ ...valid, [key]: value })),
      anyValue,
    )
    .map((body) => JSON.stringify(body) ?? "null");
}

const json = { "content-type": "application/json" };
const b = `${API_PREFIX}/batches`;

const request: fc.Arbitrary<Fuzzed> = fc.oneof(
  query(["connector", "state", "limit"], fc.constantFrom("HR", "AD", "applied", "notified", "5", "1000")).map(
    (q) => ({ method: "GET" as const, url: `${b}${q}` }),
  ),
  mutated({ connector: "HR", mode: "complete", baseBatch: null }).map((body) => ({
    method: "POST" as const,
    url: b,
    headers: json,
    body,
  })),
  fc
    .tuple(pathValue(id), fc.constantFrom("GET" as const, "DELETE" as const))
    .map(([i, method]) => ({ method, url: `${b}/${i}` })),
  fc
    .tuple(
      pathValue(id),
      pathValue(fc.oneof(fc.constantFrom("prepare.json", "Person.sorted.csv", "Person.sorted.delta"), odd)),
      fc.oneof(fc.string({ maxLength: 50 }), odd),
      fc.oneof(fc.constant(undefined), odd),
      fc.constantFrom("application/octet-stream", "text/plain", "application/json"),
    )
    .map(([i, name, content, sha, type]) => ({
      method: "PUT" as const,
      url: `${b}/${i}/files/${name}`,
      headers: { "content-type": type, [SHA256_HEADER]: encoded(sha ?? sha256(content)) },
      body: Buffer.from(content),
    })),
  fc
    .tuple(pathValue(id), mutated({ files: [{ name: "prepare.json", sha256: "a".repeat(64) }] }))
    .map(([i, body]) => ({ method: "POST" as const, url: `${b}/${i}/seal`, headers: json, body })),
  fc
    .tuple(
      pathValue(id),
      query(["operation", "entityType", "offset", "limit"], fc.constantFrom("insert", "Person", "0", "10")),
    )
    .map(([i, q]) => ({ method: "GET" as const, url: `${b}/${i}/changes${q}` })),
  fc
    .tuple(pathValue(id), fc.constantFrom("validate", "cancel"))
    .map(([i, action]) => ({ method: "POST" as const, url: `${b}/${i}/${action}` })),
  pathValue(fc.oneof(fc.constantFrom("HR", "AD"), odd)).map((name) => ({
    method: "GET" as const,
    url: `${API_PREFIX}/connectors/${name}`,
  })),
  fc
    .oneof(
      mutated(JOB_RUN),
      // A valid run whose task is the mutated one.
      mutated(UPLOAD_TASK).map((task) =>
        JSON.stringify({ ...JOB_RUN, tasks: ["TASK"] }).replace('"TASK"', () => task),
      ),
    )
    .map((body) => ({ method: "POST" as const, url: `${API_PREFIX}/job-instances`, headers: json, body })),
  query(["job", "limit"], fc.constantFrom("HR_daily", "20")).map((q) => ({
    method: "GET" as const,
    url: `${API_PREFIX}/job-instances${q}`,
  })),
);

const who = fc.constantFrom(AS_ADMIN, AS_HR, AS_BOTH, bearer("agent-hr", "wrong"), null);

describe.each(databases)("the API under random parameters on $dialect", (db) => {
  let env: TestEnv | undefined;
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
    env?.cleanup();
  });

  it(`answers ${RUNS} random requests with a 2xx or a documented ApiError, never a 5xx`, async () => {
    env = await makeEnv(db.url());
    server = await serve(env.config);
    const app = server.app;
    const notified = await new Api(server.url, AS_HR).notify("HR", "initial");
    expect(notified.status).toBe(201);
    known.batch = notified.body.id;
    const seen = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(request, who, async (fuzzed, authorization) => {
        const answer = await app.inject({
          method: fuzzed.method,
          url: fuzzed.url,
          headers: { ...fuzzed.headers, ...(authorization === null ? {} : { authorization }) },
          ...(fuzzed.body === undefined ? {} : { payload: fuzzed.body }),
        });
        const what = `${fuzzed.method} ${fuzzed.url.slice(0, 300)} → ${answer.statusCode} ${answer.body.slice(0, 300)}`;
        seen.set(answer.statusCode, (seen.get(answer.statusCode) ?? 0) + 1);
        expect(answer.statusCode, what).toBeLessThan(500);
        if (answer.statusCode < 300) return;
        const body = answer.json<{ statusCode: unknown; code: unknown; message: unknown }>();
        expect(body.statusCode, what).toBe(answer.statusCode);
        expect(Object.keys(ERROR_CODES), what).toContain(body.code);
        expect(typeof body.message === "string" && body.message.length > 0, what).toBe(true);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The runs reached the routes, not only the refusals in front of them.
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);
    expect([...seen.keys()].filter((s) => s >= 400).length).toBeGreaterThan(4);
    await server.worker.idle();
  }, 120_000);
});
