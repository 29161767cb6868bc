/**
 * Every way the HTTP edge refuses a request, in one place: the status of each error code, the
 * `ApiError` body of any error (ours, Fastify's, the HTTP parser's), and the refusal itself —
 * answered, logged and counted in `syncup_requests_refused_total{code}`.
 *
 * Three paths lead here: errors thrown by a hook or a route (Fastify's error handler), errors
 * Fastify meets before it has a route (a bad or too long path parameter: `frameworkErrors`),
 * and errors of the HTTP parser before there is a request at all (headers too large, not HTTP:
 * the server's `clientError`, answered on the socket).
 */
import { maxHeaderSize } from "node:http";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from "fastify";
import type { Logger } from "pino";
import { ERROR_CODES, SyncupError, type ErrorCode } from "../errors.js";
import type { ApiError } from "../protocol/api.js";
import type { ServerMetrics } from "./metrics.js";

/** JSON bodies are small; files are streamed and limited by `server.maxFileMiB`. */
export const JSON_BODY_LIMIT = 1024 * 1024;

/** The HTTP status of each code; a code not listed answers 400 (or 500 if unexpected, 409 if blocked). */
export const STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  CSRF: 403,
  BATCH_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  SINK_NOT_FOUND: 404,
  SINK_DELIVERY_FAILED: 502,
  RESOURCE_NOT_FOUND: 404,
  CHANGES_GONE: 410,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  FILE_CONFLICT: 409,
  JOB_RUNNING: 409,
  JOB_REMOTE: 409,
  BATCH_STATE: 409,
  BATCH_SUPERSEDED: 409,
  CHANGE_NOT_FOUND: 400,
  SELECTION_EMPTY: 400,
  DECISION_INCONSISTENT: 409,
  DECISION_INCOMPLETE: 409,
  SECOND_APPROVER_REQUIRED: 409,
  UNDO_UNAVAILABLE: 409,
  UNDO_CONFLICT: 409,
  BASE_MISMATCH: 409,
  CONNECTOR_BLOCKED: 409,
  CONNECTOR_BUSY: 409,
  SEAL_INCOMPLETE: 409,
  INITIAL_NOT_EMPTY: 409,
  FILE_TOO_LARGE: 413,
  BODY_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  DATABASE_UNAVAILABLE: 503,
};

/** The code of an error that is not ours, by its HTTP status. */
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  404: "NOT_FOUND",
  408: "REQUEST_TIMEOUT",
  413: "BODY_TOO_LARGE",
  414: "URI_TOO_LONG",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
  431: "HEADERS_TOO_LARGE",
};

type HttpError = Error & { statusCode?: number; code?: string };

/** The `ApiError` body of any error: a domain error keeps its code, Fastify's get one by status. */
export function refusalOf(error: HttpError): ApiError {
  if (error instanceof SyncupError) {
    const kind = ERROR_CODES[error.code];
    const statusCode = STATUS[error.code] ?? (kind === "unexpected" ? 500 : kind === "blocked" ? 409 : 400);
    return { statusCode, code: error.code, message: error.message };
  }
  const status = error.statusCode ?? 500;
  if (status >= 500 || status < 400) {
    return { statusCode: 500, code: "INTERNAL", message: "Internal error: see the server's log." };
  }
  const code = CODE_OF_STATUS[status] ?? "REQUEST_INVALID";
  return { statusCode: STATUS[code] ?? status, code, message: messageOf(code, error) };
}

function messageOf(code: ErrorCode, error: HttpError): string {
  switch (code) {
    case "BODY_TOO_LARGE":
      return `The JSON body is larger than the server accepts (${JSON_BODY_LIMIT / 1024 / 1024} MiB). Files are uploaded on their own: PUT /api/v1/batches/:id/files/:name.`;
    case "URI_TOO_LONG":
      return `A path parameter is longer than the server reads (${MAX_PARAM_LENGTH} characters).`;
    default:
      return error.message;
  }
}

/** The longest path parameter read; longer ones are refused (414). A file name is at most 141. */
export const MAX_PARAM_LENGTH = 256;

/** Answers a refusal (or an internal error), logs it, and counts it if it is a refusal. */
export function refuse(
  metrics: ServerMetrics,
  request: FastifyRequest,
  reply: FastifyReply,
  error: HttpError,
): void {
  const body = refusalOf(error);
  if (body.statusCode >= 500) request.log.error({ err: error }, body.message);
  else {
    metrics.refused(body.code);
    request.log.warn(
      {
        code: body.code,
        status: body.statusCode,
        principal: request.principal?.id ?? null,
        url: truncated(request.url),
      },
      `refused: ${body.message}`,
    );
  }
  // A body the route did not read (a refused upload) would otherwise hold up the connection.
  if (!request.raw.complete) void reply.header("connection", "close");
  void reply.status(body.statusCode).send(body);
}

/**
 * The server's `clientError` handler: a request the HTTP parser refused before Fastify saw it
 * (request line and headers over `maxHeaderSize`, a request cut by the timeout, bytes that are
 * not HTTP). Answered with an `ApiError` on the socket, logged and counted.
 */
export function refuseOnSocket(
  metrics: ServerMetrics,
  log: Logger,
  error: Error & { code?: string },
  socket: Socket,
): void {
  // A reset connection has nobody to answer.
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const body: ApiError =
    error.code === "HPE_HEADER_OVERFLOW"
      ? {
          statusCode: 431,
          code: "HEADERS_TOO_LARGE",
          message: `The request's URL and headers are larger than the server reads (${maxHeaderSize / 1024} KiB).`,
        }
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? { statusCode: 408, code: "REQUEST_TIMEOUT", message: "The request did not arrive whole in time." }
        : {
            statusCode: 400,
            code: "REQUEST_INVALID",
            message: `The request is not valid HTTP (${error.code ?? error.message}).`,
          };
  metrics.refused(body.code);
  log.warn(
    { code: body.code, status: body.statusCode, parser: error.code ?? null, remote: socket.remoteAddress },
    `refused: ${body.message}`,
  );
  if (socket.writable) {
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${body.statusCode} ${STATUS_TEXT[body.statusCode] ?? "Bad Request"}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/**
 * The message of a request the schemas refuse, naming the field: `body has an unknown property
 * "extra"`, `querystring/limit must be <= 1000`.
 */
export function schemaErrorMessage(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const messages = errors.map((e) => {
    const at = `${dataVar}${e.instancePath}`;
    const params = e.params as { additionalProperty?: unknown };
    if (e.keyword === "additionalProperties" && typeof params.additionalProperty === "string") {
      return `${at} has an unknown property ${JSON.stringify(truncated(params.additionalProperty))}`;
    }
    return `${at} ${e.message ?? "is not valid"}`;
  });
  return new Error(`${messages.join("; ")}: see /openapi.json.`);
}

/** A value shown in a message or a log line, cut at 200 characters. */
export function truncated(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Refuses a request whose parameters, query or JSON body hold a NUL character (U+0000): no
 * value of the protocol has one, and PostgreSQL cannot store one in text.
 */
export function nulRefusal(request: FastifyRequest): SyncupError | undefined {
  const where =
    nulAt(request.params, "path parameter") ??
    nulAt(request.query, "query parameter") ??
    nulAt(request.body, "body");
  if (where === null) return undefined;
  return new SyncupError(
    "REQUEST_INVALID",
    `The ${where} holds a NUL character (U+0000), which no value may hold.`,
  );
}

/** Where the first NUL is in a parsed value (strings, keys, arrays, plain objects), or null. */
function nulAt(value: unknown, where: string, path = ""): string | null {
  if (typeof value === "string") return value.includes("\0") ? describe(where, path) : null;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = nulAt(item, where, `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  // An upload's body is the request stream: its bytes are the file's, not parsed values.
  if (value instanceof Readable || Buffer.isBuffer(value)) return null;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const at = path === "" ? key : `${path}.${key}`;
    if (key.includes("\0")) return describe(where, at);
    const found = nulAt(item, where, at);
    if (found !== null) return found;
  }
  return null;
}

function describe(where: string, path: string): string {
  const name = JSON.stringify(truncated(path.replace(/\0/g, "\\0")));
  return where === "body" ? (path === "" ? "body" : `body's ${name}`) : `${where} ${name}`;
}
