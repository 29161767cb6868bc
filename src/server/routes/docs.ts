/**
 * The OpenAPI document (`/openapi.json`), built by `@fastify/swagger` from the schemas of the
 * routes registered after it, and its docs page (`/docs`).
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyBaseLogger } from "fastify";
import { PATHS } from "../../protocol/api.js";
import type { Api } from "./deps.js";

/** Registers the document and its page: before any route, so that every route is in it. */
export async function registerDocs<L extends FastifyBaseLogger>(app: Api<L>): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "syncup server API",
        version: "1",
        description:
          "The batch protocol between syncup agents and the server (notify, upload, seal), batch administration and job history. Agents authenticate with `Bearer <agent id>:<secret>`, administrators with `Bearer <admin name>:<token>` (`admin` for server.adminTokenHash; the others in server.admins, each a viewer or an approver).",
      },
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
          session: {
            type: "apiKey",
            in: "cookie",
            name: "syncup_session",
            description:
              "The console's session (POST /api/v1/session); a change asked through it carries the session's CSRF token in x-csrf-token.",
          },
        },
        schemas: {},
      },
      security: [{ bearer: [] }, { session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: PATHS.docs });

  app.get(PATHS.openapi, { schema: { hide: true } }, () => app.swagger());
}
