/**
 * The agent's HTTP client of the server API (`src/protocol/api.ts`), over Node's fetch.
 *
 * Every request carries the agent's bearer token and a timeout. Network errors (refused,
 * reset, timed out, cut mid-answer), 5xx and 429 answers are retried with exponential
 * backoff, honouring Retry-After. Every request is idempotent: uploads, the seal, reads, job
 * instances, and the notification too, whose batch GUID the agent chooses. A 4xx
 * answer is final: it becomes a SyncupError with the server's code. After the retries are
 * spent the error is SERVER_UNREACHABLE.
 */
import { newBatchId } from "../protocol/batch-states.js";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { Logger } from "pino";
import type { AgentDef } from "../config/config.js";
import { describeError } from "../support/failures.js";
import { withRetries } from "../support/retry.js";
import { readSecret } from "../support/secret.js";
import { SyncupError } from "../errors.js";
import {
  ADMIN_PRINCIPAL,
  PATHS,
  type BatchDetail,
  type ChangePage,
  type ChangePageQuery,
  type ChangeSelection,
  type DecisionOutcome,
  SHA256_HEADER,
  type BatchFile,
  type BatchView,
  type ConnectorStatus,
  type JobInstance,
  type NotifyRequest,
  type NotifyResponse,
  type SealRequest,
} from "../protocol/api.js";
import {
  HttpStatusError,
  isRetryable,
  parseApiError,
  requestFailure,
  retryAfterMs,
} from "./server-answers.js";

export interface ServerClientOptions {
  /** The server's base URL, without a trailing slash. */
  readonly serverUrl: string;
  readonly agentId: string;
  readonly secret: string;
  /** Further attempts after a network error, a 5xx or a 429. */
  readonly retries: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** Backoff of the first retry (default 1 s), doubled each time up to `maxDelayMs` (default 30 s). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

interface RequestSpec {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly json?: unknown;
  /** A file streamed as the body (a fresh stream per attempt). */
  readonly file?: { readonly path: string; readonly sha256: string };
  /** Statuses answered with `undefined` instead of an error (404 for a GET). */
  readonly allow?: readonly number[];
}

export class ServerClient {
  constructor(private readonly options: ServerClientOptions) {}

  /** A client for the configuration's agent section; reads the agent's secret. */
  static async fromConfig(
    agent: AgentDef,
    logger: Logger,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): Promise<ServerClient> {
    const secret = await readSecret(agent.secret, env, `Agent "${agent.id}": the secret`);
    if (secret === undefined) {
      throw new SyncupError(
        "CONFIG_INVALID",
        `Agent "${agent.id}": set agent.secretEnv or agent.secretFile.`,
      );
    }
    return new ServerClient({
      serverUrl: agent.serverUrl,
      agentId: agent.id,
      secret,
      retries: agent.retries,
      requestTimeoutMs: agent.requestTimeoutMs,
      logger,
    });
  }

  /** A client acting as the administrator (`Bearer admin:<token>`), for `syncup batches --server`. */
  static forAdmin(serverUrl: string, token: string, logger: Logger): ServerClient {
    return new ServerClient({
      serverUrl: serverUrl.replace(/\/+$/, ""),
      agentId: ADMIN_PRINCIPAL,
      secret: token,
      retries: 2,
      requestTimeoutMs: 300_000,
      logger,
    });
  }

  get serverUrl(): string {
    return this.options.serverUrl;
  }

  /**
   * `POST /batches`: announces a batch. The agent chooses the batch GUID, so that a retry after
   * a lost answer gets the same batch back instead of making a second one.
   */
  async notify(request: NotifyRequest): Promise<NotifyResponse> {
    return (await this.request<NotifyResponse>({
      method: "POST",
      path: PATHS.batches,
      json: { id: newBatchId(), ...request },
    }))!;
  }

  /** `GET /batches/:id`, or undefined when the server does not know the batch. */
  async getBatch(id: string): Promise<BatchView | undefined> {
    return this.request<BatchView>({ method: "GET", path: PATHS.batch(id), allow: [404] });
  }

  /** `PUT /batches/:id/files/:name`: streams the file; `stored` is false when the server already held it. */
  async upload(
    batchId: string,
    name: string,
    path: string,
    sha256: string,
  ): Promise<{ file: BatchFile; stored: boolean }> {
    let status = 0;
    const file = await this.request<BatchFile>(
      { method: "PUT", path: PATHS.file(batchId, name), file: { path, sha256 } },
      (s) => {
        status = s;
      },
    );
    return { file: file!, stored: status === 201 };
  }

  /** `POST /batches/:id/seal`. */
  async seal(batchId: string, request: SealRequest): Promise<BatchView> {
    return (await this.request<BatchView>({ method: "POST", path: PATHS.seal(batchId), json: request }))!;
  }

  /** `DELETE /batches/:id`: abandons this agent's unsealed batch. */
  async abandon(batchId: string): Promise<BatchView> {
    return (await this.request<BatchView>({ method: "DELETE", path: PATHS.batch(batchId) }))!;
  }

  /** `GET /connectors/:name`. */
  async connector(name: string): Promise<ConnectorStatus> {
    return (await this.request<ConnectorStatus>({ method: "GET", path: PATHS.connector(name) }))!;
  }

  /** `POST /job-instances`: recording the same instance twice changes nothing. */
  async postJobInstance(instance: JobInstance): Promise<void> {
    await this.request<unknown>({ method: "POST", path: PATHS.jobInstances, json: instance });
  }

  /** `GET /batches`, newest first. */
  async listBatches(query: { connector?: string; state?: string; limit: number }): Promise<BatchView[]> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.connector !== undefined) params.set("connector", query.connector);
    if (query.state !== undefined) params.set("state", query.state);
    return (await this.request<BatchView[]>({
      method: "GET",
      path: `${PATHS.batches}?${params.toString()}`,
    }))!;
  }

  /** `GET /batches/:id` with its report and its changes per scope and operation. */
  async batchDetail(id: string): Promise<BatchDetail> {
    return (await this.request<BatchDetail>({ method: "GET", path: PATHS.batch(id) }))!;
  }

  /** `GET /batches/:id/changes` (admin): a page of changes before → after. */
  async changes(id: string, query: ChangePageQuery): Promise<ChangePage> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    for (const name of [
      "after",
      "kind",
      "operation",
      "entityType",
      "association",
      "keyPrefix",
      "property",
      "decision",
    ] as const) {
      const value = query[name];
      if (value !== undefined) params.set(name, value);
    }
    return (await this.request<ChangePage>({
      method: "GET",
      path: `${PATHS.changes(id)}?${params.toString()}`,
    }))!;
  }

  /** `POST /batches/:id/decisions` (approver): approve or reject a selection. */
  async decide(
    id: string,
    decision: "approve" | "reject",
    selection: ChangeSelection,
  ): Promise<DecisionOutcome> {
    const { ids, ...filter } = selection;
    const json = {
      decision,
      ...(ids === undefined ? {} : { ids }),
      ...(Object.keys(filter).length === 0 ? {} : { filter }),
    };
    return (await this.request<DecisionOutcome>({
      method: "POST",
      path: `${PATHS.batch(id)}/decisions`,
      json,
    }))!;
  }

  /** `POST /batches/:id/apply` (approver): the report of the batch applied as decided. */
  async apply(id: string, rest?: "approve" | "reject"): Promise<unknown> {
    const json = rest === undefined ? {} : { rest };
    return this.request<unknown>({ method: "POST", path: `${PATHS.batch(id)}/apply`, json });
  }

  /** `POST /batches/:id/undo` (approver): the report of the undo batch. */
  async undo(id: string, force: boolean): Promise<unknown> {
    return this.request<unknown>({
      method: "POST",
      path: `${PATHS.batch(id)}/undo`,
      json: force ? { force } : {},
    });
  }

  /** `POST /batches/:id/validate` (admin): the report of the applied batch. */
  async validate(id: string): Promise<unknown> {
    return this.request<unknown>({ method: "POST", path: PATHS.validate(id), json: {} });
  }

  /** `POST /batches/:id/cancel` (admin). */
  async cancel(id: string): Promise<BatchView> {
    return (await this.request<BatchView>({ method: "POST", path: PATHS.cancel(id), json: {} }))!;
  }

  /** `GET /job-instances`, newest first. */
  async jobInstances(options: { job?: string; limit: number }): Promise<JobInstance[]> {
    const query = new URLSearchParams({ limit: String(options.limit) });
    if (options.job !== undefined) query.set("job", options.job);
    return (await this.request<JobInstance[]>({
      method: "GET",
      path: `${PATHS.jobInstances}?${query.toString()}`,
    }))!;
  }

  private async request<T>(spec: RequestSpec, onStatus?: (status: number) => void): Promise<T | undefined> {
    const url = `${this.options.serverUrl}${spec.path}`;
    const what = `${spec.method} ${url}`;
    let attempts = 0;
    try {
      return await withRetries(
        async (attempt) => {
          attempts = attempt;
          return await this.once<T>(url, spec, onStatus);
        },
        {
          retries: this.options.retries,
          isTransient: isRetryable,
          requestedDelayMs: (error) => (error instanceof HttpStatusError ? error.retryAfterMs : undefined),
          ...(this.options.baseDelayMs === undefined ? {} : { baseDelayMs: this.options.baseDelayMs }),
          ...(this.options.maxDelayMs === undefined ? {} : { maxDelayMs: this.options.maxDelayMs }),
          onRetry: (error, attempt, delayMs) =>
            this.options.logger.warn(
              { request: what, attempt, delayMs, error: describeError(error) },
              `${what} failed (${describeError(error)}), attempt ${attempt} of ${this.options.retries + 1}; retrying in ${Math.round(delayMs / 100) / 10} s`,
            ),
        },
      );
    } catch (error) {
      throw requestFailure(error, what, attempts, this.options.serverUrl);
    }
  }

  private async once<T>(
    url: string,
    spec: RequestSpec,
    onStatus: ((status: number) => void) | undefined,
  ): Promise<T | undefined> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.options.agentId}:${this.options.secret}`,
      Accept: "application/json",
    };
    const init: RequestInit & { duplex?: "half" } = {
      method: spec.method,
      headers,
      signal: AbortSignal.timeout(this.options.requestTimeoutMs),
    };
    if (spec.json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(spec.json);
    } else if (spec.file !== undefined) {
      headers["Content-Type"] = "application/octet-stream";
      headers[SHA256_HEADER] = spec.file.sha256;
      init.body = Readable.toWeb(createReadStream(spec.file.path)) as ReadableStream<Uint8Array>;
      init.duplex = "half";
    }
    const response = await fetch(url, init);
    const text = await response.text();
    if (spec.allow?.includes(response.status)) return undefined;
    if (!response.ok) {
      throw new HttpStatusError(
        response.status,
        parseApiError(response.status, text),
        retryAfterMs(response.headers.get("retry-after")),
      );
    }
    onStatus?.(response.status);
    if (text === "") return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new SyncupError(
        "SERVER_REFUSED",
        `${spec.method} ${url} answered HTTP ${response.status} with a body that is not JSON: is agent.server the syncup server's URL?`,
        { cause: error },
      );
    }
  }
}
