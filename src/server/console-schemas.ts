/**
 * JSON Schemas of the routes the admin console reads and signs in with (sessions, the
 * connectors' overview, batch lists, resources, jobs, orphans): validated and serialized by
 * Fastify, and part of the OpenAPI document like every other route's (`schemas.ts`).
 */
import { ADMIN_ROLES } from "../protocol/api.js";

const count = { type: "integer", minimum: 0 } as const;
const nullableString = { type: ["string", "null"] } as const;

export const sessionRequest = {
  type: "object",
  required: ["token"],
  additionalProperties: false,
  properties: {
    token: {
      type: "string",
      minLength: 3,
      maxLength: 1024,
      description: "`<admin name>:<token>`: an administrator of server.admins (or admin:<token>).",
    },
  },
} as const;

export const sessionView = {
  type: "object",
  required: ["id", "role", "csrfToken", "expiresAt"],
  properties: {
    id: { type: "string", description: "The administrator's name." },
    role: { type: "string", enum: [...ADMIN_ROLES] },
    csrfToken: {
      type: "string",
      description: "Send it in the x-csrf-token header with every change asked through the session cookie.",
    },
    expiresAt: {
      type: "string",
      format: "date-time",
      description: "When the session ends if it stays in use; sooner after server.sessionIdleMinutes unused.",
    },
  },
} as const;

export { count, nullableString };
