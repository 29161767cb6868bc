/**
 * A small HTTP peer that speaks just enough of the agent/server protocol (src/protocol/api.ts)
 * for the agent's tests: notify, upload, seal, abandon, batch and connector status, job
 * instances. It is a test double of the network peer, not the product server: batches live in
 * memory and a sealed batch is "synchronized" by `onSeal` (applied at once by default).
 * `fault` lets a test break a request (destroy the socket, answer 503) before it is routed.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Mode } from "../../src/config/config.js";
import {
  API_PREFIX,
  FILE_NAME_PATTERN,
  SHA256_HEADER,
  type BatchState,
  type BatchView,
  type ConnectorStatus,
  type JobInstance,
  type NotifyRequest,
  type SealRequest,
} from "../../src/protocol/api.js";

export interface PeerBatch {
  id: string;
  seq: number;
  connector: string;
  mode: Mode;
  state: BatchState;
  baseBatch: string | null;
  createdAt: string;
  sealedAt: string | null;
  files: Map<string, { sha256: string; bytes: number; data: Buffer }>;
  counts: BatchView["counts"];
  error: string | null;
}

const ZERO = {
  resourcesInserted: 0,
  resourcesUpdated: 0,
  resourcesDeleted: 0,
  linksInserted: 0,
  linksDeleted: 0,
  orphans: 0,
};

export class TestPeer {
  readonly batches = new Map<string, PeerBatch>();
  readonly instances: JobInstance[] = [];
  /** `METHOD path` of every request, in order. */
  readonly requests: string[] = [];
  /** The last batch an incremental may be based on, per connector. */
  readonly lastAccepted = new Map<string, string>();
  /** The blocked batch of a connector. */
  readonly blocked = new Map<string, string>();
  /** Called before routing; returns true when it answered (or destroyed) the request itself. */
  fault: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** What the server does with a batch once sealed; default: applied at once. */
  onSeal: (batch: PeerBatch) => void = (batch) => {
    batch.state = "applied";
    batch.counts = { ...ZERO, resourcesInserted: dataRows(batch) };
  };
  /** Called when a notification is accepted. */
  onNotify: ((batch: PeerBatch) => void) | undefined;
  private seq = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly token: string,
  ) {}

  static async start(agentId = "agent1", secret = "s3cret"): Promise<TestPeer> {
    const holder: { peer?: TestPeer } = {};
    const server = createServer((req, res) => {
      holder.peer!.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { statusCode: 500, code: "INTERNAL", message: String(error) });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    holder.peer = new TestPeer(server, `http://127.0.0.1:${port}`, `Bearer ${agentId}:${secret}`);
    return holder.peer;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** PUTs received for a file name. */
  uploadsOf(name: string): number {
    return this.requests.filter((r) => r.startsWith("PUT ") && r.endsWith(`/files/${name}`)).length;
  }

  view(batch: PeerBatch): BatchView {
    return {
      id: batch.id,
      seq: batch.seq,
      connector: batch.connector,
      mode: batch.mode,
      state: batch.state,
      agent: "agent1",
      baseBatch: batch.baseBatch,
      createdAt: batch.createdAt,
      sealedAt: batch.sealedAt,
      finishedAt: null,
      counts: batch.counts,
      error: batch.error,
      files: [...batch.files].map(([name, f]) => ({ name, sha256: f.sha256, bytes: f.bytes })),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const path = url.pathname;
    this.requests.push(`${req.method} ${path}`);
    if (this.fault?.(req, res) === true) return;
    if (req.headers.authorization !== this.token) {
      return send(res, 401, { statusCode: 401, code: "UNAUTHORIZED", message: "bad token" });
    }
    const parts = path.slice(API_PREFIX.length).split("/").filter(Boolean).map(decodeURIComponent);
    const [root, id, sub, name] = parts;
    if (root === "batches" && id === undefined && req.method === "POST")
      return this.notify(res, await json(req));
    if (root === "batches" && id !== undefined) {
      const batch = this.batches.get(id);
      if (batch === undefined) {
        await drain(req);
        return send(res, 404, { statusCode: 404, code: "BATCH_NOT_FOUND", message: `no batch ${id}` });
      }
      if (sub === undefined && req.method === "GET") return send(res, 200, this.view(batch));
      if (sub === undefined && req.method === "DELETE") {
        if (batch.state !== "notified") {
          return send(res, 409, { statusCode: 409, code: "BATCH_STATE", message: `batch is ${batch.state}` });
        }
        batch.state = "cancelled";
        return send(res, 200, this.view(batch));
      }
      if (sub === "files" && name !== undefined && req.method === "PUT")
        return this.upload(req, res, batch, name);
      if (sub === "seal" && req.method === "POST")
        return this.seal(res, batch, (await json(req)) as SealRequest);
    }
    if (root === "connectors" && id !== undefined && req.method === "GET") {
      const status: ConnectorStatus = {
        connector: id,
        lastAccepted: this.lastAccepted.get(id) ?? null,
        lastApplied: this.lastAccepted.get(id) ?? null,
        blocked: this.blocked.get(id) ?? null,
        pending: [...this.batches.values()].filter(
          (b) => b.connector === id && (b.state === "notified" || b.state === "sealed"),
        ).length,
      };
      return send(res, 200, status);
    }
    if (root === "job-instances" && req.method === "POST") {
      const instance = (await json(req)) as JobInstance;
      if (this.instances.some((i) => i.id === instance.id)) return send(res, 200, instance);
      this.instances.push(instance);
      return send(res, 201, instance);
    }
    if (root === "job-instances" && req.method === "GET") {
      const job = url.searchParams.get("job");
      const limit = Number(url.searchParams.get("limit") ?? 20);
      return send(
        res,
        200,
        this.instances
          .filter((i) => job === null || i.job === job)
          .reverse()
          .slice(0, limit),
      );
    }
    await drain(req);
    send(res, 404, { statusCode: 404, code: "NOT_FOUND", message: `${req.method} ${path}` });
  }

  private notify(res: ServerResponse, body: unknown): void {
    const request = body as NotifyRequest;
    if (request.mode === "incremental") {
      const blocked = this.blocked.get(request.connector);
      if (blocked !== undefined) {
        return send(res, 409, {
          statusCode: 409,
          code: "CONNECTOR_BLOCKED",
          message: `Connector "${request.connector}" has a blocked batch ${blocked}`,
        });
      }
      const last = this.lastAccepted.get(request.connector) ?? null;
      if (request.baseBatch !== last) {
        return send(res, 409, {
          statusCode: 409,
          code: "BASE_MISMATCH",
          message: `The incremental is based on batch ${request.baseBatch}, but the last accepted batch of "${request.connector}" is ${last ?? "none"}`,
        });
      }
    }
    const cancelled: string[] = [];
    if (request.mode !== "incremental") {
      for (const b of this.batches.values()) {
        if (b.connector === request.connector && b.mode === "incremental" && b.state === "sealed") {
          b.state = "cancelled";
          cancelled.push(b.id);
        }
      }
    }
    const batch: PeerBatch = {
      id: randomUUID(),
      seq: ++this.seq,
      connector: request.connector,
      mode: request.mode,
      state: "notified",
      baseBatch: request.baseBatch,
      createdAt: new Date().toISOString(),
      sealedAt: null,
      files: new Map(),
      counts: { ...ZERO },
      error: null,
    };
    this.batches.set(batch.id, batch);
    this.onNotify?.(batch);
    send(res, 201, {
      id: batch.id,
      seq: batch.seq,
      connector: batch.connector,
      mode: batch.mode,
      state: "notified",
      cancelled,
    });
  }

  private async upload(
    req: IncomingMessage,
    res: ServerResponse,
    batch: PeerBatch,
    name: string,
  ): Promise<void> {
    const data = await body(req);
    if (!FILE_NAME_PATTERN.test(name)) {
      return send(res, 400, { statusCode: 400, code: "FILE_NAME_INVALID", message: `bad name ${name}` });
    }
    const sha256 = createHash("sha256").update(data).digest("hex");
    if (req.headers[SHA256_HEADER] !== sha256) {
      return send(res, 400, {
        statusCode: 400,
        code: "FILE_CHECKSUM_MISMATCH",
        message: `${name}: the body's SHA-256 is ${sha256}, not ${String(req.headers[SHA256_HEADER])}`,
      });
    }
    const held = batch.files.get(name);
    if (held !== undefined) {
      if (held.sha256 === sha256) return send(res, 200, { name, sha256, bytes: data.length });
      return send(res, 409, { statusCode: 409, code: "FILE_CONFLICT", message: `${name} differs` });
    }
    if (batch.state !== "notified") {
      return send(res, 409, { statusCode: 409, code: "BATCH_STATE", message: `batch is ${batch.state}` });
    }
    batch.files.set(name, { sha256, bytes: data.length, data });
    send(res, 201, { name, sha256, bytes: data.length });
  }

  private seal(res: ServerResponse, batch: PeerBatch, request: SealRequest): void {
    if (batch.state === "cancelled" || batch.state === "failed" || batch.state === "superseded") {
      return send(res, 409, { statusCode: 409, code: "BATCH_STATE", message: `batch is ${batch.state}` });
    }
    if (batch.state === "notified") {
      for (const file of request.files) {
        if (batch.files.get(file.name)?.sha256 !== file.sha256) {
          return send(res, 409, {
            statusCode: 409,
            code: "SEAL_INCOMPLETE",
            message: `missing ${file.name}`,
          });
        }
      }
      batch.state = "sealed";
      batch.sealedAt = new Date().toISOString();
      this.lastAccepted.set(batch.connector, batch.id);
      const answer = this.view(batch);
      this.onSeal(batch);
      return send(res, 200, answer);
    }
    send(res, 200, this.view(batch));
  }
}

/** Data rows of a batch's prepared files (lines after the header). */
function dataRows(batch: PeerBatch): number {
  let rows = 0;
  for (const [name, file] of batch.files) {
    if (name === "prepare.json") continue;
    const lines = file.data
      .toString("utf8")
      .split("\n")
      .filter((l) => l !== "");
    rows += Math.max(0, lines.length - 1);
  }
  return rows;
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function drain(req: IncomingMessage): Promise<void> {
  await body(req);
}

async function json(req: IncomingMessage): Promise<unknown> {
  return JSON.parse((await body(req)).toString("utf8")) as unknown;
}
