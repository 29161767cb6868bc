/**
 * The agent's HTTP client against a real node:http server on 127.0.0.1: retries with backoff on
 * 5xx, 429 (Retry-After), cut connections and timeouts; 4xx mapped to the server's error code;
 * SERVER_UNREACHABLE once the retries are spent; uploads streamed again on each attempt.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ServerClient } from "../../src/agent/client.js";
import { SyncupError } from "../../src/errors.js";
import { memoryLogger } from "./helpers.js";

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void | Promise<void>;

let server: Server | undefined;
const dir = mkdtempSync(join(tmpdir(), "syncup-client-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
});

/** Starts a server whose answers `handler` decides, attempt by attempt; returns its URL and its request log. */
async function serve(handler: Handler): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    void handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests };
}

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function client(url: string, options: { retries?: number; timeoutMs?: number; maxDelayMs?: number } = {}) {
  const { logger, lines } = memoryLogger();
  return {
    lines,
    client: new ServerClient({
      serverUrl: url,
      agentId: "agent1",
      secret: "s3cret",
      retries: options.retries ?? 3,
      requestTimeoutMs: options.timeoutMs ?? 5000,
      logger,
      baseDelayMs: 10,
      maxDelayMs: options.maxDelayMs ?? 50,
    }),
  };
}

const NOTIFIED = { id: "b1", seq: 1, connector: "HR", mode: "complete", state: "notified", cancelled: [] };

async function refusal(promise: Promise<unknown>): Promise<SyncupError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SyncupError);
  return error as SyncupError;
}

describe("ServerClient", () => {
  it("sends the agent's bearer token and retries a 5xx until the server answers", async () => {
    const tokens: (string | undefined)[] = [];
    const { url, requests } = await serve((req, res, attempt) => {
      tokens.push(req.headers.authorization);
      if (attempt <= 2) return json(res, 503, { statusCode: 503, code: "INTERNAL", message: "busy" });
      json(res, 201, NOTIFIED);
    });
    const { client: c, lines } = client(url);
    const answer = await c.notify({ connector: "HR", mode: "complete", baseBatch: null });
    expect(answer.id).toBe("b1");
    expect(requests).toEqual(["POST /api/v1/batches", "POST /api/v1/batches", "POST /api/v1/batches"]);
    expect(tokens).toEqual(Array(3).fill("Bearer agent1:s3cret"));
    const retries = lines.filter((l) => l.attempt !== undefined);
    expect(retries.map((l) => l.attempt)).toEqual([1, 2]);
    expect(retries[0]?.msg).toContain(`POST ${url}/api/v1/batches failed (HTTP 503 INTERNAL: busy)`);
  });

  it("retries when the connection is cut in the middle of the answer", async () => {
    const { url, requests } = await serve((_req, res, attempt) => {
      if (attempt === 1) {
        res.writeHead(200, { "content-type": "application/json", "content-length": 500 });
        res.write('{"id":"b1","se');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      json(res, 200, { ...NOTIFIED, state: "sealed", files: [] });
    });
    const { client: c, lines } = client(url);
    const view = await c.getBatch("b1");
    expect(view?.state).toBe("sealed");
    expect(requests).toHaveLength(2);
    expect(lines.filter((l) => l.attempt === 1)).toHaveLength(1);
  });

  it("retries a request that got no answer within requestTimeoutMs", async () => {
    const { url, requests } = await serve((_req, res, attempt) => {
      if (attempt === 1) return; // never answers
      json(res, 200, { connector: "HR", lastAccepted: null, lastApplied: null, blocked: null, pending: 0 });
    });
    const { client: c } = client(url, { timeoutMs: 200 });
    const status = await c.connector("HR");
    expect(status.blocked).toBeNull();
    expect(requests).toHaveLength(2);
  });

  it("waits as long as Retry-After asks on a 429", async () => {
    const { url } = await serve((_req, res, attempt) => {
      if (attempt === 1)
        return json(
          res,
          429,
          { statusCode: 429, code: "RATE", message: "slow down" },
          { "retry-after": "1" },
        );
      json(res, 201, {});
    });
    const { client: c, lines } = client(url, { maxDelayMs: 5000 });
    const started = Date.now();
    await c.postJobInstance({
      id: "i1",
      job: "j",
      connector: "HR",
      mode: "complete",
      ranMode: "complete",
      agent: "agent1",
      outcome: "succeeded",
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      batchId: null,
      tasks: [],
      message: null,
    });
    expect(lines.find((l) => l.attempt === 1)?.delayMs).toBe(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("retries a notification with the batch id it chose, so that a lost answer makes no second batch", async () => {
    const ids: string[] = [];
    const { url, requests } = await serve((req, res, attempt) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        ids.push((JSON.parse(body) as { id: string }).id);
        if (attempt === 1) {
          req.socket.destroy();
          return;
        }
        if (attempt === 2) return json(res, 500, { statusCode: 500, code: "INTERNAL", message: "crashed" });
        json(res, 200, NOTIFIED);
      });
    });
    const { client: c } = client(url);
    const answer = await c.notify({ connector: "HR", mode: "complete", baseBatch: null });
    expect(answer.id).toBe("b1");
    expect(requests).toHaveLength(3);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(1);
  });

  it("maps a 4xx to a SyncupError with the server's code and message, without retrying", async () => {
    const { url, requests } = await serve((_req, res) =>
      json(res, 409, { statusCode: 409, code: "BASE_MISMATCH", message: "the base is batch b0, not b9" }),
    );
    const { client: c } = client(url);
    const error = await refusal(c.notify({ connector: "HR", mode: "incremental", baseBatch: "b9" }));
    expect(error.code).toBe("BASE_MISMATCH");
    expect(error.message).toContain("the base is batch b0, not b9");
    expect(error.message).toContain(`POST ${url}/api/v1/batches`);
    expect(requests).toHaveLength(1);
  });

  it("maps a code the agent does not know to SERVER_REFUSED, and a 401 to UNAUTHORIZED", async () => {
    const { url } = await serve((req, res) =>
      req.url?.includes("connectors")
        ? json(res, 401, { statusCode: 401, code: "UNAUTHORIZED", message: "wrong secret" })
        : json(res, 422, { statusCode: 422, code: "SOMETHING_NEW", message: "a new rule" }),
    );
    const { client: c } = client(url);
    expect((await refusal(c.seal("b1", { files: [] }))).code).toBe("SERVER_REFUSED");
    const unauthorized = await refusal(c.connector("HR"));
    expect(unauthorized.code).toBe("UNAUTHORIZED");
    expect(unauthorized.message).toContain("wrong secret");
  });

  it("answers undefined for a batch the server does not know", async () => {
    const { url } = await serve((_req, res) =>
      json(res, 404, { statusCode: 404, code: "BATCH_NOT_FOUND", message: "no such batch" }),
    );
    expect(await client(url).client.getBatch("nope")).toBeUndefined();
  });

  it("gives up with SERVER_UNREACHABLE naming the URL and the last error once the retries are spent", async () => {
    const { url, requests } = await serve((_req, res) =>
      json(res, 500, { statusCode: 500, code: "INTERNAL", message: "disk full" }),
    );
    const error = await refusal(client(url, { retries: 2 }).client.abandon("b1"));
    expect(error.code).toBe("SERVER_UNREACHABLE");
    expect(error.message).toContain(url);
    expect(error.message).toContain("disk full");
    expect(error.message).toContain("3 attempts");
    expect(requests).toHaveLength(3);
  });

  it("gives up with SERVER_UNREACHABLE when nothing listens", async () => {
    const { url } = await serve((_req, res) => json(res, 200, {}));
    server!.close();
    server = undefined;
    const error = await refusal(client(url, { retries: 1 }).client.connector("HR"));
    expect(error.code).toBe("SERVER_UNREACHABLE");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("streams an upload with its SHA-256 and streams it again when the first attempt was cut", async () => {
    const file = join(dir, "Person.sorted.csv");
    const content = Buffer.from(
      `id;name\n${Array.from({ length: 20000 }, (_, i) => `${i};name ${i}`).join("\n")}\n`,
    );
    writeFileSync(file, content);
    const sha256 = createHash("sha256").update(content).digest("hex");
    const received: { bytes: number; sha: string; header: string | undefined; type: string | undefined }[] =
      [];
    const { url } = await serve(async (req, res, attempt) => {
      if (attempt === 1) {
        req.once("data", () => req.socket.destroy());
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const sha = createHash("sha256").update(body).digest("hex");
      received.push({
        bytes: body.length,
        sha,
        header: req.headers["x-content-sha256"] as string | undefined,
        type: req.headers["content-type"],
      });
      json(res, attempt === 2 ? 201 : 200, { name: "Person.sorted.csv", sha256: sha, bytes: body.length });
    });
    const { client: c } = client(url);
    const first = await c.upload("b1", "Person.sorted.csv", file, sha256);
    expect(first.stored).toBe(true);
    expect(received[0]).toEqual({
      bytes: content.length,
      sha: sha256,
      header: sha256,
      type: "application/octet-stream",
    });
    const again = await c.upload("b1", "Person.sorted.csv", file, sha256);
    expect(again.stored).toBe(false);
    expect(again.file.bytes).toBe(content.length);
  });
});
