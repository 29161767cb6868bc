/**
 * Authentication at the edge: the hook of every `/api/v1` route reads the caller into
 * `request.principal` — from the bearer token, or else from the console's session cookie (a
 * change asked through the cookie must carry the session's CSRF token) — and a route asks for
 * it with `principalOf`. What a principal may do is checked by the route (`requireAdmin`,
 * `requireApprover`, `requireConnector`) or by the service it calls.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { SyncupError } from "../../errors.js";
import type { AuthThrottle } from "../auth-throttle.js";
import type { Authenticator, Principal } from "../auth.js";
import { CSRF_HEADER, csrfMatches, SESSION_COOKIE, type Session, type SessionStore } from "../sessions.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
    /** The console session the request came through; null when it sent a bearer token. */
    session: Session | null;
  }
}

/** Methods that change nothing: a session's request of these needs no CSRF token. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The `onRequest` hook that authenticates a request (failed attempts limited by `throttle`). */
export function authenticated(auth: Authenticator, throttle: AuthThrottle, sessions: SessionStore) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const cookie = request.cookies[SESSION_COOKIE];
    if (request.headers.authorization === undefined && cookie !== undefined) {
      const session = sessionOf(sessions, request, cookie);
      request.session = session;
      request.principal = session.admin;
      return;
    }
    request.principal = await auth.authenticate(
      request.headers.authorization,
      throttle.guard(request, reply),
    );
  };
}

function sessionOf(sessions: SessionStore, request: FastifyRequest, cookie: string): Session {
  const session = sessions.touch(cookie);
  if (session === undefined) {
    throw new SyncupError(
      "UNAUTHORIZED",
      "Your console session has ended (signed out, expired, or the server restarted): sign in again.",
    );
  }
  if (!SAFE_METHODS.has(request.method) && !csrfMatches(session, request.headers[CSRF_HEADER])) {
    throw new SyncupError(
      "CSRF",
      `A change asked through a console session must carry the session's CSRF token in the ${CSRF_HEADER} header (GET /api/v1/session answers it): reload the console.`,
    );
  }
  return session;
}

/** The authenticated caller of a request (UNAUTHORIZED if the hook did not run). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new SyncupError("UNAUTHORIZED", "Authentication required.");
  return request.principal;
}
