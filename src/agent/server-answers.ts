/**
 * What the agent's client makes of the server's answers and of fetch's failures: an HTTP status
 * error, whether another attempt is worth it (and when, by Retry-After), and the SyncupError
 * that a request ends with once no attempt is left.
 */
import { ERROR_CODES, SyncupError, type ErrorCode } from "../errors.js";
import type { ApiError } from "../protocol/api.js";
import { describeError, isNetworkError, isTlsError } from "../support/failures.js";

/** A non-2xx answer. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}${body === undefined ? "" : ` ${body.code}: ${body.message}`}`);
    this.name = "HttpStatusError";
  }

  get transient(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

/** The delay a Retry-After header asks for (seconds or an HTTP date), in milliseconds. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The server's error body, or undefined for another answer (a proxy's page). */
export function parseApiError(status: number, text: string): ApiError | undefined {
  try {
    const body = JSON.parse(text) as Partial<ApiError>;
    if (typeof body.code === "string" && typeof body.message === "string") {
      return { statusCode: status, code: body.code, message: body.message };
    }
  } catch {
    // not JSON: a proxy's page, described by its status
  }
  return undefined;
}

/** fetch's own network failures: "fetch failed" (connect, reset), "terminated" (answer cut off). */
function isFetchNetworkError(error: unknown): boolean {
  if (isTlsError(error)) return false;
  if (isNetworkError(error)) return true;
  return error instanceof TypeError && /^(fetch failed|terminated)$/.test(error.message);
}

/** Whether another attempt is worth it: a network error, a 5xx or a 429. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.transient;
  return isFetchNetworkError(error);
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/**
 * The error a request ends with: the server's own code for a final refusal (4xx), else
 * SERVER_UNREACHABLE, saying what to check.
 */
export function requestFailure(error: unknown, what: string, attempts: number, serverUrl: string): unknown {
  if (error instanceof SyncupError) return error;
  const tries = attempts <= 1 ? "" : ` after ${attempts} attempts`;
  if (error instanceof HttpStatusError && !error.transient) {
    const code =
      error.body !== undefined && isErrorCode(error.body.code) ? error.body.code : "SERVER_REFUSED";
    const reason = error.body?.message ?? `HTTP ${error.status}`;
    return new SyncupError(
      code,
      `The server refused ${what}: ${reason} (HTTP ${error.status}${error.body === undefined ? "" : ` ${error.body.code}`}).`,
      { cause: error },
    );
  }
  if (isTlsError(error)) {
    return new SyncupError(
      "SERVER_UNREACHABLE",
      `${what}: the TLS connection failed: ${describeError(error)}. Check the server's certificate (NODE_EXTRA_CA_CERTS names extra trusted CAs).`,
      { cause: error },
    );
  }
  return new SyncupError(
    "SERVER_UNREACHABLE",
    `Cannot reach the server at ${serverUrl}: ${what} failed${tries}: ${describeError(error)}. Check agent.server, that the server is running, and the network between them.`,
    { cause: error },
  );
}
