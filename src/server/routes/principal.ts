/**
 * Authentication at the edge: the hook of every `/api/v1` route reads the bearer token into
 * `request.principal`, and a route asks for it with `principalOf`. What a principal may do is
 * checked by the route (`requireAdmin`, `requireConnector`) or by the service it calls.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { SyncupError } from "../../errors.js";
import type { AuthThrottle } from "../auth-throttle.js";
import type { Authenticator, Principal } from "../auth.js";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The `onRequest` hook that authenticates a request (failed attempts limited by `throttle`). */
export function authenticated(auth: Authenticator, throttle: AuthThrottle) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    request.principal = await auth.authenticate(
      request.headers.authorization,
      throttle.guard(request, reply),
    );
  };
}

/** The authenticated caller of a request (UNAUTHORIZED if the hook did not run). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new SyncupError("UNAUTHORIZED", "Authentication required.");
  return request.principal;
}
