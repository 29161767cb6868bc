/**
 * `syncup server`'s HTTP API (Fastify): the batch protocol for agents, batch administration,
 * job history, health, Prometheus metrics, the OpenAPI document with its docs page, and the
 * admin console at `/` with its sign-in (a session cookie, `routes/session.ts`).
 * Every refusal is an `ApiError` body with a stable code, and is logged (`refusals.ts`).
 *
 * This file builds the instance (limits, parsers, the refusal handlers, authentication of the
 * API) and registers the routes, one file per resource under `routes/`: each route validates
 * its request by its schema, checks its caller, and calls a service (`transfer.ts`,
 * `batch-admin.ts`, `job-history.ts`, `probes.ts`), which does the work.
 */
import cookie from "@fastify/cookie";
import rateLimit from "@fastify/rate-limit";
import Fastify from "fastify";
import { SyncupError } from "../errors.js";
import { API_PREFIX } from "../protocol/api.js";
import { AuthThrottle } from "./auth-throttle.js";
import { Authenticator } from "./auth.js";
import { BatchAdminService } from "./batch-admin.js";
import { ChangeFeedService } from "./change-feed.js";
import { JobHistoryService } from "./job-history.js";
import { JobRunService } from "./job-runs.js";
import { JobScheduleService } from "./job-schedules.js";
import { OrphanService } from "./orphans.js";
import { OverviewService } from "./overview.js";
import {
  JSON_BODY_LIMIT,
  MAX_PARAM_LENGTH,
  refuse,
  nulRefusal,
  refuseOnSocket,
  schemaErrorMessage,
  truncated,
} from "./refusals.js";
import { registerAdminRoutes } from "./routes/admin.js";
import { registerBatchRoutes } from "./routes/batches.js";
import { registerChangeRoutes } from "./routes/changes.js";
import { registerConnectorRoutes } from "./routes/connectors.js";
import { registerConsole } from "./routes/console.js";
import type { AppDeps } from "./routes/deps.js";
import { registerDocs } from "./routes/docs.js";
import { registerFileRoutes } from "./routes/files.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerJobRoutes } from "./routes/jobs.js";
import { registerOrphanRoutes } from "./routes/orphans.js";
import { authenticated } from "./routes/principal.js";
import { registerResourceRoutes } from "./routes/resources.js";
import { registerSessionRoutes, registerSignIn } from "./routes/session.js";
import { ResourceBrowser } from "./resource-browser.js";
import { SessionStore } from "./sessions.js";

export type { AppDeps } from "./routes/deps.js";

export async function buildApp(deps: AppDeps) {
  const app = createInstance(deps);
  await app.register(rateLimit, { global: false });
  await app.register(cookie);
  const throttle = new AuthThrottle(app, deps.config.server.rateLimit);
  await registerDocs(app);
  registerHealthRoutes(app, deps);
  await registerConsole(app);

  const auth = new Authenticator(deps.config.server);
  const sessions = new SessionStore(deps.config.server.session);
  const batches = new BatchAdminService(deps);
  const jobs = new JobHistoryService(deps);
  const schedules = new JobScheduleService(deps);
  const runs = new JobRunService(deps);
  app.addHook("onClose", () => runs.drain());
  const overview = new OverviewService(deps);
  const resources = new ResourceBrowser(deps);
  const orphans = new OrphanService(deps);
  const feed = new ChangeFeedService(deps);
  app.addHook("preClose", (done) => {
    feed.close();
    done();
  });
  await app.register(
    (api, _options, done) => {
      registerSignIn(api, { auth, throttle, sessions });
      done();
    },
    { prefix: API_PREFIX },
  );
  await app.register(
    (api, _options, done) => {
      api.addHook("onRequest", authenticated(auth, throttle, sessions));
      registerSessionRoutes(api, { sessions });
      registerBatchRoutes(api, { transfer: deps.transfer, batches });
      registerFileRoutes(api, deps);
      registerAdminRoutes(api, { batches });
      registerConnectorRoutes(api, { transfer: deps.transfer, overview });
      registerJobRoutes(api, { jobs, schedules, runs });
      registerResourceRoutes(api, { resources });
      registerOrphanRoutes(api, { orphans });
      registerChangeRoutes(api, { feed });
      done();
    },
    { prefix: API_PREFIX },
  );
  return app;
}

/** The Fastify instance with its limits, its parsers and every refusal mapped by `refusals.ts`. */
function createInstance(deps: AppDeps) {
  const { metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: JSON_BODY_LIMIT,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    return503OnClosing: true,
    // Refuse what the schemas do not allow (Fastify's default drops unknown properties quietly).
    ajv: { customOptions: { removeAdditional: false } },
    schemaErrorFormatter: schemaErrorMessage,
    frameworkErrors: (error, request, reply) => refuse(metrics, request, reply, error),
    clientErrorHandler: (error, socket) => refuseOnSocket(metrics, deps.log, error, socket),
  });

  // Files arrive as raw bytes: handed to the route as the request stream, never buffered.
  app.addContentTypeParser("application/octet-stream", (_request, payload, done) => done(null, payload));
  app.decorateRequest("principal", null);
  app.decorateRequest("session", null);

  app.setErrorHandler((error: Error, request, reply) => refuse(metrics, request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    refuse(
      metrics,
      request,
      reply,
      new SyncupError(
        "NOT_FOUND",
        `There is no ${request.method} ${truncated(request.url.split("?")[0] ?? "")}: see /openapi.json.`,
      ),
    ),
  );
  // Before any route: every route's parameters, query and body are checked for NUL.
  app.addHook("preValidation", (request, _reply, done) => done(nulRefusal(request)));
  return app;
}
