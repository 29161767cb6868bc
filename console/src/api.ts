/**
 * The console's client of the documented API (`/api/v1`, the OpenAPI document at /openapi.json):
 * the session cookie goes along by itself, and every change carries the session's CSRF token.
 * A refusal becomes an `ApiError` with the server's stable code and message.
 */
import type { ApiError as ApiErrorBody } from "../../src/protocol/api.js";

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
/** Called when a request finds the session ended (401): the app goes back to the sign-in page. */
let onSignedOut: () => void = () => undefined;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

type Query = Record<string, string | number | undefined | null>;

/** `path?query` with the defined, non-empty parameters. */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const text = params.toString();
  return text === "" ? path : `${path}?${text}`;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken !== null) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    credentials: "same-origin",
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed: unknown = text === "" ? null : JSON.parse(text);
  if (!response.ok) {
    const error = parsed as Partial<ApiErrorBody> | null;
    const failure = new ApiError(
      response.status,
      error?.code ?? "HTTP_" + String(response.status),
      error?.message ?? response.statusText,
    );
    if (response.status === 401 && path !== "/session") onSignedOut();
    throw failure;
  }
  return parsed as T;
}

export const get = <T>(path: string, query?: Query) => request<T>("GET", withQuery(path, query));
export const post = <T>(path: string, body: unknown = {}) => request<T>("POST", path, body);
