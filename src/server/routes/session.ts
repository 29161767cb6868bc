/**
 * `/api/v1/session`: the console's sign-in. An administrator exchanges `<name>:<token>` for a
 * session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS, Path=/) and a CSRF token; the
 * session is read back and ended here too. Sign-in costs a secret check, limited like the
 * bearer tokens' (`auth-throttle.ts`).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { SyncupError } from "../../errors.js";
import type { AuthThrottle } from "../auth-throttle.js";
import { requireAdmin, type Authenticator } from "../auth.js";
import * as C from "../console-schemas.js";
import * as S from "../schemas.js";
import { SESSION_COOKIE, type SessionStore } from "../sessions.js";
import type { Api } from "./deps.js";

const PATH = "/session";

/** POST /session: outside the authenticated routes (the caller has no session yet). */
export function registerSignIn(
  api: Api,
  deps: { readonly auth: Authenticator; readonly throttle: AuthThrottle; readonly sessions: SessionStore },
) {
  api.post<{ Body: { token: string } }>(
    PATH,
    {
      schema: {
        summary: "Sign in to the console (administrators)",
        description:
          "Exchanges `<admin name>:<token>` for a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) and the session's CSRF token. Failed attempts count against server.rateLimit like wrong bearer tokens.",
        security: [],
        body: C.sessionRequest,
        response: { 200: C.sessionView, ...S.errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const principal = await deps.auth.authenticateToken(
        request.body.token,
        deps.throttle.guard(request, reply),
      );
      const admin = requireAdmin(principal, "sign in to the console");
      const { id, session } = deps.sessions.open(admin);
      setCookie(
        request,
        reply,
        id,
        Math.floor((deps.sessions.expiresAt(session).getTime() - Date.now()) / 1000),
      );
      request.log.info({ admin: admin.id, role: admin.role }, "console session opened");
      return deps.sessions.view(session);
    },
  );
}

/** GET and DELETE /session: among the authenticated routes (a sign-out is a change: CSRF). */
export function registerSessionRoutes(api: Api, deps: { readonly sessions: SessionStore }) {
  api.get(
    PATH,
    {
      schema: {
        summary: "The console session of the cookie: who, role, CSRF token, end",
        response: { 200: C.sessionView, ...S.errors(401) },
      },
    },
    (request) => deps.sessions.view(sessionOf(request)),
  );

  api.delete(
    PATH,
    {
      schema: {
        summary: "Sign out of the console",
        description: "Ends the session of the cookie (with its x-csrf-token) and clears the cookie.",
        response: { 204: { type: "null" }, ...S.errors(401, 403) },
      },
    },
    (request, reply) => {
      sessionOf(request);
      const cookie = request.cookies[SESSION_COOKIE];
      if (cookie !== undefined) deps.sessions.close(cookie);
      setCookie(request, reply, "", 0);
      request.log.info({ admin: request.principal?.id }, "console session closed");
      return reply.status(204).send();
    },
  );
}

function sessionOf(request: FastifyRequest) {
  if (request.session === null) {
    throw new SyncupError(
      "UNAUTHORIZED",
      "No console session: this request carries a bearer token. Sign in with POST /api/v1/session.",
    );
  }
  return request.session;
}

function setCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAge: number): void {
  void reply.setCookie(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: "strict",
    secure: request.protocol === "https",
    path: "/",
    maxAge,
  });
}
