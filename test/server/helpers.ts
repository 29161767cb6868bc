/**
 * Helpers of the server tests: a copy of the quickstart example with a `server:` section (two
 * agents, an administrator), prepared batches made by the real export and prepare, a small HTTP
 * client over the global fetch, and a snapshot of what the repository holds.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino from "pino";
import { parse, stringify } from "yaml";
import { afterEach, expect } from "vitest";
import type { Config, Mode } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load.js";
import { exportConnector } from "../../src/export/export.js";
import type { PrepareManifest } from "../../src/prepare/layout.js";
import { prepareConnector } from "../../src/prepare/prepare.js";
import { acceptPrepared } from "../../src/prepare/previous.js";
import {
  API_PREFIX,
  FINAL_STATES,
  PATHS,
  SHA256_HEADER,
  type ApiError,
  type BatchView,
  type NotifyResponse,
} from "../../src/protocol/api.js";
import { hashSecret } from "../../src/protocol/secret-hash.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import type { Store } from "../../src/store/store.js";
import { THRESHOLDS_OFF } from "../sync/helpers.js";

const root = resolve(import.meta.dirname, "..", "..");
const QUICKSTART = join(root, "examples", "quickstart");
const HR_FILE = join("hr", "hr_people_20261126.csv");

/** The principals of every test configuration. */
export const AGENT_HR = { id: "agent-hr", secret: "s3cret-hr", connectors: ["HR"] } as const;
export const AGENT_AD = { id: "agent-ad", secret: "s3cret-ad", connectors: ["AD"] } as const;
/** An agent that may act on both connectors (to tell "not your connector" from "not your batch"). */
export const AGENT_BOTH = { id: "agent-both", secret: "s3cret-both", connectors: ["HR", "AD"] } as const;
export const ADMIN_TOKEN = "admin-t0ken";

/** A task of a job run, as an agent records it. */
export const UPLOAD_TASK = {
  task: "upload",
  outcome: "succeeded",
  startedAt: "2026-11-26T05:00:01.000Z",
  seconds: 0.5,
  counts: { files: 3 },
  message: null,
} as const;

/** A job run of connector HR, as an agent records it (`POST /api/v1/job-instances`). */
export const JOB_RUN = {
  id: "HR_daily-1",
  job: "HR_daily",
  connector: "HR",
  mode: "complete",
  ranMode: "initial",
  agent: null,
  outcome: "succeeded",
  startedAt: "2026-11-26T05:00:00.000Z",
  finishedAt: "2026-11-26T05:00:02.000Z",
  batchId: null,
  tasks: [UPLOAD_TASK],
  message: null,
} as const;

export const bearer = (id: string, secret: string) => `Bearer ${id}:${secret}`;
export const AS_HR = bearer(AGENT_HR.id, AGENT_HR.secret);
export const AS_AD = bearer(AGENT_AD.id, AGENT_AD.secret);
export const AS_BOTH = bearer(AGENT_BOTH.id, AGENT_BOTH.secret);
export const AS_ADMIN = bearer("admin", ADMIN_TOKEN);

let hashes: Promise<Record<string, string>> | undefined;
/** scrypt is slow on purpose: hash each secret once per test file. */
function secretHashes(): Promise<Record<string, string>> {
  hashes ??= (async () => ({
    [AGENT_HR.id]: await hashSecret(AGENT_HR.secret),
    [AGENT_AD.id]: await hashSecret(AGENT_AD.secret),
    [AGENT_BOTH.id]: await hashSecret(AGENT_BOTH.secret),
    admin: await hashSecret(ADMIN_TOKEN),
  }))();
  return hashes;
}

export interface EnvOptions {
  /** Switch every threshold of both connectors off. */
  readonly thresholdsOff?: boolean;
  readonly maxFileMiB?: number;
  /** `server.rateLimit`. */
  readonly rateLimit?: { readonly failedAuthentications?: number; readonly windowSeconds?: number };
}

/** A copy of the quickstart example in a temporary folder, configured as a server. */
export interface TestEnv {
  readonly dir: string;
  readonly configPath: string;
  readonly databaseUrl: string;
  readonly config: Config;
  /** Loads the configuration again (same file, same database). */
  reload(): Promise<Config>;
  /** The same configuration on another database. */
  withDatabase(url: string): Promise<Config>;
  cleanup(): void;
}

export async function makeEnv(databaseUrl: string, options: EnvOptions = {}): Promise<TestEnv> {
  const dir = mkdtempSync(join(tmpdir(), "syncup-server-"));
  cpSync(QUICKSTART, dir, { recursive: true });
  const configPath = join(dir, "syncup.yaml");
  const raw = parse(readFileSync(configPath, "utf8")) as {
    workDir: string;
    database?: { url: string };
    connectors: Record<string, { thresholds?: Record<string, number> }>;
    server?: unknown;
  };
  const h = await secretHashes();
  raw.workDir = "./work";
  raw.database = { url: "sqlite:./never-used.db" };
  if (options.thresholdsOff === true) {
    for (const connector of Object.values(raw.connectors)) connector.thresholds = { ...THRESHOLDS_OFF };
  }
  raw.server = {
    port: 0,
    batchDir: "./batches",
    adminTokenHash: h["admin"],
    uploadTimeoutMinutes: 60,
    ...(options.maxFileMiB === undefined ? {} : { maxFileMiB: options.maxFileMiB }),
    ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
    agents: Object.fromEntries(
      [AGENT_HR, AGENT_AD, AGENT_BOTH].map((a) => [
        a.id,
        { secretHash: h[a.id], connectors: [...a.connectors] },
      ]),
    ),
  };
  writeFileSync(configPath, stringify(raw));
  const reload = () => loadConfig(configPath, { SYNCUP_DATABASE_URL: databaseUrl });
  return {
    dir,
    configPath,
    databaseUrl,
    config: await reload(),
    reload,
    withDatabase: (url) => loadConfig(configPath, { SYNCUP_DATABASE_URL: url }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Lists of the servers and environments a test makes: closed and removed after each test. */
export function cleanedAfterEach(): { readonly envs: TestEnv[]; readonly servers: RunningServer[] } {
  const envs: TestEnv[] = [];
  const servers: RunningServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const env of envs.splice(0)) env.cleanup();
  });
  return { envs, servers };
}

const logLevel = process.env["SYNCUP_TEST_SERVER_LOG"] ?? "silent";

/** Starts `syncup server` on a free port, its worker looking at the queue every 50 ms. */
export function serve(config: Config, options: { feedPollMs?: number } = {}): Promise<RunningServer> {
  return startServer(config, {
    port: 0,
    pollMs: 50,
    log: pino({ name: "syncup-server-test", level: logLevel }),
    ...options,
  });
}

// ---------------------------------------------------------------------------------------------
// Source data: versions of the quickstart's HR and AD exports.

/** Rewrites the HR extract with people 1…`count` (of 300); `renamed` people get a new department. */
export function writeHr(env: TestEnv, count: number, renamed = 0): void {
  const original = readFileSync(join(QUICKSTART, HR_FILE), "latin1").split("\r\n");
  const [title = "", header = "", ...people] = original.filter((l) => l !== "");
  const kept = people.slice(0, count).map((line, i) => {
    if (i >= renamed) return line;
    const cells = line.split(",");
    cells[4] = "Renamed Department";
    return cells.join(",");
  });
  writeFileSync(join(env.dir, HR_FILE), Buffer.from([title, header, ...kept, ""].join("\r\n"), "latin1"));
}

/** Rewrites the AD entries: version 0 is the example, version n renames the first 10 users' display names. */
export function writeAd(env: TestEnv, version: number): void {
  const lines = readFileSync(join(QUICKSTART, "ad", "ad_entries.csv"), "utf8").split("\n");
  let renamed = 0;
  const out = lines.map((line) => {
    if (version === 0 || renamed >= 10 || !line.includes(";user;")) return line;
    renamed++;
    const cells = line.split(";");
    // dn is quoted and contains "\," but no ";": the display name is the 5th cell.
    cells[4] = `${cells[4] ?? ""} v${version}`;
    return cells.join(";");
  });
  writeFileSync(join(env.dir, "ad", "ad_entries.csv"), out.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Prepared batches.

export interface BatchFileBody {
  readonly name: string;
  readonly body: Buffer;
  readonly sha256: string;
}

/** What an agent sends for one batch: the prepared files, then prepare.json. */
export interface PreparedBatch {
  readonly connector: string;
  readonly mode: Mode;
  readonly baseBatch: string | null;
  readonly files: readonly BatchFileBody[];
}

export const sha256 = (body: Buffer | string) => createHash("sha256").update(body).digest("hex");

/** Exports and prepares `connector` from the current source files, and keeps the batch's files in memory. */
export async function prepare(env: TestEnv, connector: string, mode: Mode): Promise<PreparedBatch> {
  await exportConnector(env.config, connector, mode);
  const { dir, manifest } = await prepareConnector(env.config, connector, mode);
  const kind = mode === "incremental" ? "delta" : "sorted";
  const files = manifest.files
    .filter((f) => f.kind === kind)
    .map((f) => {
      const body = readFileSync(join(dir, f.file));
      expect(sha256(body)).toBe(f.sha256);
      return { name: f.file, body, sha256: f.sha256 };
    });
  const json = readFileSync(join(dir, "prepare.json"));
  const parsed = JSON.parse(json.toString("utf8")) as PrepareManifest;
  return {
    connector,
    mode,
    baseBatch: parsed.baseBatch,
    files: [...files, { name: "prepare.json", body: json, sha256: sha256(json) }],
  };
}

/** Advances the agent's previous/ to the last prepare of `connector`, sent as `batchId`. */
export async function accept(env: TestEnv, connector: string, batchId: string): Promise<void> {
  await acceptPrepared(env.config, connector, batchId);
}

// ---------------------------------------------------------------------------------------------
// HTTP.

export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly text: string;
  readonly headers: Headers;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** A client of one server with one identity (or none). */
export class Api {
  constructor(
    readonly url: string,
    readonly authorization: string | null,
  ) {}

  as(authorization: string | null): Api {
    return new Api(this.url, authorization);
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: { json?: unknown; body?: Buffer; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.authorization !== null) headers["authorization"] = this.authorization;
    let body: string | Uint8Array | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      headers["content-type"] ??= "application/octet-stream";
      body = new Uint8Array(options.body);
    }
    // A request the server never answers fails the test instead of hanging it.
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(body ? { body } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get("content-type") ?? "").includes("json") && text !== "") {
      parsed = JSON.parse(text);
    }
    return { status: response.status, body: parsed as T, text, headers: response.headers };
  }

  notify(connector: string, mode: Mode, baseBatch: string | null = null) {
    return this.request<NotifyResponse>("POST", PATHS.batches, { json: { connector, mode, baseBatch } });
  }

  /** Uploads `body` as `name`; `sha` defaults to the body's SHA-256; `rawName` goes into the path as is. */
  upload(id: string, name: string, body: Buffer, options: { sha?: string; rawName?: boolean } = {}) {
    const path =
      options.rawName === true
        ? `${API_PREFIX}/batches/${encodeURIComponent(id)}/files/${name}`
        : PATHS.file(id, name);
    return this.request<{ name: string; sha256: string; bytes: number }>("PUT", path, {
      body,
      headers: { [SHA256_HEADER]: options.sha ?? sha256(body) },
    });
  }

  seal(id: string, files: readonly { name: string; sha256: string }[]) {
    return this.request<BatchView>("POST", PATHS.seal(id), {
      json: { files: files.map((f) => ({ name: f.name, sha256: f.sha256 })) },
    });
  }

  batch(id: string) {
    return this.request<BatchView & { report?: unknown }>("GET", PATHS.batch(id));
  }

  /** Uploads every file of `prepared` into batch `id` (each must be stored: 201). */
  async uploadAll(id: string, prepared: PreparedBatch): Promise<void> {
    for (const file of prepared.files) {
      const answer = await this.upload(id, file.name, file.body);
      expect(answer.status, `upload of ${file.name}: ${answer.text}`).toBe(201);
    }
  }

  /** Uploads and seals. */
  async send(id: string, prepared: PreparedBatch): Promise<BatchView> {
    await this.uploadAll(id, prepared);
    const sealed = await this.seal(id, prepared.files);
    expect(sealed.status, sealed.text).toBe(200);
    return sealed.body;
  }

  /** Notifies, uploads and seals a batch; returns the notification's answer. */
  async notifyAndSend(prepared: PreparedBatch): Promise<NotifyResponse> {
    const notified = await this.notify(prepared.connector, prepared.mode, prepared.baseBatch);
    expect(notified.status, notified.text).toBe(201);
    await this.send(notified.body.id, prepared);
    return notified.body;
  }

  /** Polls the batch until it reaches one of `states` (default: a final state or blocked). */
  async waitFor(
    id: string,
    states: readonly string[] = [...FINAL_STATES, "blocked"],
    timeoutMs = 30_000,
  ): Promise<BatchView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await this.batch(id);
      expect(answer.status, answer.text).toBe(200);
      if (states.includes(answer.body.state)) return answer.body;
      if (Date.now() > deadline) {
        throw new Error(
          `batch ${id} still ${answer.body.state} after ${timeoutMs} ms (waiting for ${states.join("|")})`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Asserts an `ApiError` answer. */
export function expectRefusal(answer: Answer, status: number, code: string): ApiError {
  expect(answer.status, answer.text).toBe(status);
  const body = answer.body as ApiError;
  expect(body).toMatchObject({ statusCode: status, code });
  expect(typeof body.message).toBe("string");
  expect(body.message.length).toBeGreaterThan(0);
  return body;
}

/** Every file below `dir`, relative paths, sorted. */
export function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

/** A Prometheus sample's value, or undefined when the text has no such sample. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const have = new Map(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The repository.

/** What the repository holds for a connector, by key, in a stable order (database ids left out). */
export async function snapshot(
  store: Store,
  connector: string,
): Promise<{ resources: string[]; links: string[]; mono: string[] }> {
  const rows = await store.resources.list({ connector, limit: 1_000_000, offset: 0 });
  const pkOf = new Map(rows.map((r) => [r.id, `${r.entityType}:${r.pk}`]));
  const resources = rows.map((r) => `${r.entityType}:${r.pk} ${r.properties}`);
  const links: string[] = [];
  const mono: string[] = [];
  for (const r of rows) {
    for (const l of await store.links.linksOf(r.id)) {
      if (l.resource1 === r.id)
        links.push(`${l.association} ${pkOf.get(l.resource1)} ${pkOf.get(l.resource2)}`);
    }
    for (const [column, target] of Object.entries(r.mono)) {
      mono.push(`${r.entityType}:${r.pk} i${column} ${pkOf.get(target)}`);
    }
  }
  return { resources: resources.sort(), links: links.sort(), mono: mono.sort() };
}

/** Resources held per entity type of a connector. */
export async function counted(store: Store, connector: string): Promise<Record<string, number>> {
  return Object.fromEntries(
    [...(await store.resources.countByEntityType(connector))].map(([k, v]) => [k, Number(v)]),
  );
}
