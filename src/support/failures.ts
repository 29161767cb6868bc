/**
 * Classifies the errors of network clients (sockets, TLS, fetch) and turns them into
 * SyncupErrors, for the native connectors and the agent's client. Messages name the connection
 * and the host, say what to check, and never carry a secret.
 */
import { SyncupError } from "../errors.js";

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "HOSTNAME_MISMATCH",
]);

/** The errors of `error` and its causes, outermost first. */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && out.length < 8 && !out.includes(current)) {
    out.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

/** The first string `code` of the error or its causes (`ECONNREFUSED`, `28P01`, …). */
export function errorCodeOf(error: unknown): string | undefined {
  for (const e of chain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
  }
  return undefined;
}

function codes(error: unknown): string[] {
  return chain(error)
    .map((e) => (e as { code?: unknown }).code)
    .filter((c): c is string => typeof c === "string");
}

/** A connection that could not be made or was lost, or an operation that timed out. */
export function isNetworkError(error: unknown): boolean {
  if (isTlsError(error)) return false;
  if (codes(error).some((c) => NETWORK_CODES.has(c))) return true;
  return chain(error).some((e) => {
    if (!(e instanceof Error)) return false;
    if (e.name === "TimeoutError" || e.name === "AbortError") return true;
    return /\b(timeout|timed out|socket hang up|connection (closed|lost|terminated|reset)|not established)\b/i.test(
      e.message,
    );
  });
}

/** A TLS handshake that failed (untrusted or expired certificate, wrong host name, protocol). */
export function isTlsError(error: unknown): boolean {
  return codes(error).some((c) => TLS_CODES.has(c) || c.startsWith("ERR_TLS_") || c.startsWith("ERR_SSL_"));
}

/** A short description of a low-level error for a message: its code, else its first line. */
export function describeError(error: unknown): string {
  const code = errorCodeOf(error);
  const message = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
  if (code !== undefined && !/^\d+$/.test(code))
    return message.includes(code) ? message : `${code}: ${message}`;
  return message;
}

/** The host cannot be reached, even after the retries. */
export function unreachableError(
  label: string,
  target: string,
  error: unknown,
  attempts: number,
): SyncupError {
  const tries = attempts === 1 ? "" : ` (${attempts} attempts)`;
  return new SyncupError(
    "CONNECTOR_UNREACHABLE",
    `${label} cannot reach ${target}: ${describeError(error)}${tries}. Check the host name and port, that the server is running, and that no firewall or proxy blocks the connection.`,
    { cause: error },
  );
}

/** The TLS handshake failed. */
export function tlsError(label: string, target: string, error: unknown, hint: string): SyncupError {
  return new SyncupError(
    "CONNECTOR_TLS_FAILED",
    `${label}: the TLS connection to ${target} failed: ${describeError(error)}. ${hint}`,
    { cause: error },
  );
}
