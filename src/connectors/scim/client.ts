/**
 * The HTTP side of the SCIM export (fetch): authenticated GETs with a timeout, retries with
 * backoff on 429 (honouring Retry-After), 5xx and network errors, list responses paged with
 * startIndex/count (RFC 7644 3.4.2.4), and errors that say what to check.
 */
import { z } from "zod";
import { SyncupError } from "../../errors.js";
import {
  describeError,
  isNetworkError,
  isTlsError,
  tlsError,
  unreachableError,
} from "../../support/failures.js";
import { withRetries } from "../../support/retry.js";

export type ScimResource = Record<string, unknown>;

const listResponse = z.looseObject({
  totalResults: z.number().optional(),
  startIndex: z.number().optional(),
  itemsPerPage: z.number().optional(),
  Resources: z.array(z.record(z.string(), z.unknown())).optional(),
});

const scimErrorBody = z.looseObject({
  detail: z.string().optional(),
  scimType: z.string().optional(),
});

/** An HTTP answer other than 2xx; `transient` for 429 and 5xx. */
export class ScimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly detail: string | undefined,
    readonly scimType: string | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}${detail === undefined ? "" : `: ${detail}`}`);
    this.name = "ScimHttpError";
  }

  get transient(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}

export interface ScimClientOptions {
  readonly baseUrl: string;
  readonly label: string;
  /** The `Authorization` header's value. */
  readonly authorization: string;
  /** Names the credentials' source in messages (`$SCIM_TOKEN`), never their value. */
  readonly credentialsHint: string;
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly log?: ((line: string) => void) | undefined;
  readonly fetch?: typeof fetch;
}

/** Encodes query parameters with %20 for spaces (some servers read `+` literally). */
function query(params: Readonly<Record<string, string | number | undefined>>): string {
  const parts = Object.entries(params)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export class ScimClient {
  private readonly base: string;
  private readonly origin: string;

  constructor(private readonly options: ScimClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, "");
    this.origin = new URL(this.base).host;
  }

  /** Set once the server refused a request with `attributes` and took it without. */
  private attributesRefused = false;

  /**
   * GETs `path` (below the base URL) and returns its JSON body, or undefined for a 404 when
   * `allowNotFound`. A server that answers 400 to the `attributes` parameter (some cannot
   * project extension attributes) but not to the same request without it is asked for whole
   * resources from then on.
   */
  async get(
    path: string,
    params: Readonly<Record<string, string | number | undefined>> = {},
    allowNotFound = false,
  ): Promise<unknown> {
    if (params["attributes"] === undefined || this.attributesRefused) {
      return this.getOnce(path, { ...params, attributes: undefined }, allowNotFound);
    }
    try {
      return await this.getOnce(path, params, allowNotFound);
    } catch (error) {
      const cause = error instanceof SyncupError ? error.cause : undefined;
      if (!(cause instanceof ScimHttpError) || cause.status !== 400) throw error;
      const body = await this.getOnce(path, { ...params, attributes: undefined }, allowNotFound).catch(() => {
        throw error;
      });
      this.attributesRefused = true;
      this.options.log?.(
        `${this.options.label}: ${this.base}${path} refuses the attributes parameter (${cause.message}); asking for whole resources.`,
      );
      return body;
    }
  }

  private async getOnce(
    path: string,
    params: Readonly<Record<string, string | number | undefined>>,
    allowNotFound: boolean,
  ): Promise<unknown> {
    const url = `${this.base}${path}${query(params)}`;
    let attempts = 0;
    try {
      return await withRetries(
        async (attempt) => {
          attempts = attempt;
          return await this.once(url, allowNotFound);
        },
        {
          retries: this.options.retries,
          isTransient: (error) =>
            error instanceof ScimHttpError ? error.transient : !isTlsError(error) && isNetworkError(error),
          requestedDelayMs: (error) => (error instanceof ScimHttpError ? error.retryAfterMs : undefined),
          onRetry: (error, attempt, delay) =>
            this.options.log?.(
              `${this.options.label}: GET ${this.base}${path} failed (${describeError(error)}), attempt ${attempt}; retrying in ${Math.round(delay / 100) / 10} s`,
            ),
        },
      );
    } catch (error) {
      throw this.failure(error, `${this.base}${path}`, attempts);
    }
  }

  /** The resources of a list endpoint, page by page. */
  async *list(
    path: string,
    params: Readonly<Record<string, string | undefined>>,
    pageSize: number,
  ): AsyncGenerator<ScimResource[]> {
    let startIndex = 1;
    for (;;) {
      const body = await this.get(path, { ...params, startIndex, count: pageSize });
      const page = listResponse.safeParse(body);
      if (!page.success) {
        throw new SyncupError(
          "CONNECTOR_REQUEST_FAILED",
          `${this.options.label}: ${this.base}${path} did not answer with a SCIM ListResponse: check baseUrl and the resource type's endpoint.`,
        );
      }
      if (page.data.startIndex !== undefined && page.data.startIndex !== startIndex) {
        throw new SyncupError(
          "CONNECTOR_REQUEST_FAILED",
          `${this.options.label}: ${this.base}${path} answered a request for startIndex=${startIndex} with startIndex=${page.data.startIndex}: the server does not page with startIndex/count (RFC 7644 3.4.2.4), so the export would be incomplete.`,
        );
      }
      const resources = page.data.Resources ?? [];
      if (resources.length > 0) yield resources;
      startIndex += resources.length;
      const total = page.data.totalResults;
      if (resources.length === 0 || (total !== undefined && startIndex > total)) return;
      if (total === undefined && resources.length < pageSize) return;
    }
  }

  private async once(url: string, allowNotFound: boolean): Promise<unknown> {
    const response = await (this.options.fetch ?? fetch)(url, {
      headers: {
        Accept: "application/scim+json, application/json",
        Authorization: this.options.authorization,
      },
      signal: AbortSignal.timeout(Math.round(this.options.timeoutSeconds * 1000)),
      redirect: "follow",
    });
    const text = await response.text();
    if (allowNotFound && response.status === 404) return undefined;
    if (!response.ok) {
      let detail: string | undefined;
      let scimType: string | undefined;
      try {
        const body = scimErrorBody.safeParse(JSON.parse(text));
        if (body.success) ({ detail, scimType } = body.data);
      } catch {
        detail = undefined;
      }
      throw new ScimHttpError(
        response.status,
        url,
        detail?.slice(0, 300),
        scimType,
        retryAfterMs(response.headers.get("retry-after")),
      );
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new SyncupError(
        "CONNECTOR_REQUEST_FAILED",
        `${this.options.label}: ${url.split("?")[0] ?? url} answered with a body that is not JSON (${response.headers.get("content-type") ?? "no content type"}): check baseUrl.`,
        { cause: error },
      );
    }
  }

  private failure(error: unknown, endpoint: string, attempts: number): unknown {
    const { label } = this.options;
    if (error instanceof SyncupError) return error;
    if (error instanceof ScimHttpError) {
      if (error.status === 401 || error.status === 403) {
        return new SyncupError(
          "CONNECTOR_AUTH_FAILED",
          `${label}: ${endpoint} answered ${error.status} ${error.status === 401 ? "Unauthorized" : "Forbidden"}${error.detail === undefined ? "" : ` (${error.detail})`}. Check the credentials in ${this.options.credentialsHint}: valid, not expired, and allowed to read this resource type.`,
          { cause: error },
        );
      }
      if (error.status === 404) {
        return new SyncupError(
          "CONNECTOR_REQUEST_FAILED",
          `${label}: ${endpoint} does not exist (404). Check baseUrl and the resource type's endpoint.`,
          { cause: error },
        );
      }
      const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
      return new SyncupError(
        "CONNECTOR_REQUEST_FAILED",
        `${label}: ${endpoint} answered ${error.message}${tries}.`,
        { cause: error },
      );
    }
    if (isTlsError(error)) {
      return tlsError(
        label,
        this.origin,
        error,
        "Check that the server's certificate is valid for this host; for a private CA set NODE_EXTRA_CA_CERTS to its PEM file.",
      );
    }
    if (isNetworkError(error)) return unreachableError(label, this.origin, error, attempts);
    return new SyncupError(
      "CONNECTOR_REQUEST_FAILED",
      `${label}: GET ${endpoint} failed: ${describeError(error)}.`,
      {
        cause: error,
      },
    );
  }
}
