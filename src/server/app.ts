/**
 * `syncup server`'s HTTP API (Fastify): the batch protocol for agents, batch administration,
 * job history, health, Prometheus metrics, and the OpenAPI document with its docs page.
 * Every refusal is an `ApiError` body with a stable code, and is logged.
 */
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { API_PREFIX, PATHS, SHA256_HEADER, type JobInstance } from "../protocol/api.js";
import type { Store } from "../store/store.js";
import type { BatchState } from "../store/types.js";
import { batchChanges, batchSummary } from "../sync/inspect.js";
import { AuthThrottle } from "./auth-throttle.js";
import { Authenticator, requireAdmin, requireConnector, type Principal } from "./auth.js";
import type { ServerMetrics } from "./metrics.js";
import type { Mutex } from "./mutex.js";
import { assessReadiness, QUEUE_FAILURES_UNREADY, readinessSchema } from "./readiness.js";
import {
  JSON_BODY_LIMIT,
  MAX_PARAM_LENGTH,
  refuse,
  nulRefusal,
  refuseOnSocket,
  schemaErrorMessage,
  truncated,
} from "./refusals.js";
import * as S from "./schemas.js";
import type { TransferService } from "./transfer.js";
import type { BatchWorker } from "./worker.js";

export interface AppDeps {
  readonly config: Config;
  /** The API's connection (bookkeeping, reads). */
  readonly store: Store;
  readonly mutex: Mutex;
  readonly transfer: TransferService;
  readonly worker: BatchWorker;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export async function buildApp(deps: AppDeps) {
  const { config, transfer, worker, metrics } = deps;
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
  const auth = new Authenticator(config.server);

  // Files arrive as raw bytes: handed to the route as the request stream, never buffered.
  app.addContentTypeParser("application/octet-stream", (_request, payload, done) => done(null, payload));
  app.decorateRequest("principal", null);

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

  await app.register(rateLimit, { global: false });
  const throttle = new AuthThrottle(app, config.server.rateLimit);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "syncup server API",
        version: "1",
        description:
          "The batch protocol between syncup agents and the server (notify, upload, seal), batch administration and job history. Agents authenticate with `Bearer <agent id>:<secret>`, administrators with `Bearer admin:<token>`.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
        schemas: {},
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: PATHS.docs });

  const authenticated = async (request: FastifyRequest, reply: FastifyReply) => {
    request.principal = await auth.authenticate(
      request.headers.authorization,
      throttle.guard(request, reply),
    );
  };
  const principal = (request: FastifyRequest): Principal => {
    if (request.principal === null) throw new SyncupError("UNAUTHORIZED", "Authentication required.");
    return request.principal;
  };

  app.get(PATHS.openapi, { schema: { hide: true } }, () => app.swagger());

  app.get(
    PATHS.health,
    {
      schema: {
        summary: "Liveness: the process answers",
        description:
          "Answers 200 while the process serves requests, whatever the database's state: see /ready.",
        security: [],
        response: { 200: S.health },
      },
    },
    () => ({ status: "ok", database: deps.store.label }),
  );

  app.get(
    PATHS.ready,
    {
      schema: {
        summary: "Readiness: the database answers and the batch queue is read",
        description: `200 (status ready) when the database answers and the batch queue is being read; 503 (status degraded) when the database does not answer, or ${QUEUE_FAILURES_UNREADY} reads of the queue in a row failed.`,
        security: [],
        response: { 200: readinessSchema, 503: readinessSchema },
      },
    },
    async (request, reply) => {
      let answers = true;
      try {
        // A read, outside the mutex: it must answer while a long batch holds the connection
        // (on SQLite the queue shares it); a read inside another's transaction changes nothing.
        await deps.store.batches.countByState();
      } catch (error) {
        answers = false;
        request.log.error({ err: error }, "readiness check: the database does not answer");
      }
      const readiness = assessReadiness(deps.store.label, answers, worker.health());
      return reply.status(readiness.status === "ready" ? 200 : 503).send(readiness);
    },
  );

  app.get(
    PATHS.metrics,
    { schema: { summary: "Prometheus metrics", security: [], produces: ["text/plain"] } },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );

  await app.register(
    (api, _options, done) => {
      api.addHook("onRequest", authenticated);

      api.post<{ Body: S.NotifyBody }>(
        "/batches",
        {
          schema: {
            summary: "Notify a new batch",
            description:
              "An agent announces a batch of a connector before it prepares it. A complete (or initial) batch cancels the connector's incremental batches not yet applied. An incremental batch must name the batch its previous/ came from: the last one the server accepted (409 BASE_MISMATCH otherwise), and is refused while a blocked batch waits (409 CONNECTOR_BLOCKED).",
            body: S.notifyRequest,
            response: { 200: S.notifyResponse, 201: S.notifyResponse, ...S.errors(400, 401, 403, 409) },
          },
        },
        async (request, reply) => {
          const answer = await transfer.notify(principal(request), request.body);
          request.log.info(
            { batch: answer.id, connector: answer.connector, mode: answer.mode, cancelled: answer.cancelled },
            "batch notified",
          );
          return reply.status(201).send(answer);
        },
      );

      api.get<{ Querystring: { connector?: string; state?: BatchState; limit?: number } }>(
        "/batches",
        {
          schema: {
            summary: "List batches, newest first",
            querystring: S.batchListQuery,
            response: { 200: { type: "array", items: S.batchView }, ...S.errors(401, 403) },
          },
        },
        (request) =>
          transfer.list(principal(request), {
            limit: request.query.limit ?? 20,
            ...(request.query.connector === undefined ? {} : { connector: request.query.connector }),
            ...(request.query.state === undefined ? {} : { state: request.query.state }),
          }),
      );

      api.get<{ Params: { id: string } }>(
        "/batches/:id",
        {
          schema: {
            summary: "A batch, its files and its report",
            params: S.idParams,
            response: { 200: S.batchDetail, ...S.errors(401, 403, 404) },
          },
        },
        async (request) => {
          const view = await transfer.view(principal(request), request.params.id);
          const changes = await deps.mutex.run(() => batchSummary(deps.store, request.params.id));
          return { ...view, changes };
        },
      );

      api.delete<{ Params: { id: string } }>(
        "/batches/:id",
        {
          schema: {
            summary: "Abandon a batch not yet sealed (its agent)",
            params: S.idParams,
            response: { 200: S.batchView, ...S.errors(401, 403, 404, 409) },
          },
        },
        (request) => transfer.abandon(principal(request), request.params.id),
      );

      api.put<{ Params: { id: string; name: string } }>(
        "/batches/:id/files/:name",
        {
          schema: {
            summary: "Upload one file of a batch",
            description: `The body is the file's bytes (application/octet-stream), streamed; the ${SHA256_HEADER} header holds their SHA-256, which the server checks. 201 when stored, 200 when the same file was already there (a retry changes nothing), 409 when a different file of that name is.`,
            params: S.fileParams,
            headers: S.uploadHeaders,
            consumes: ["application/octet-stream"],
            response: { 200: S.batchFile, 201: S.batchFile, ...S.errors(400, 401, 403, 404, 409, 413) },
          },
        },
        async (request, reply) => {
          const sha = request.headers[SHA256_HEADER];
          const body = request.body as NodeJS.ReadableStream | undefined;
          if (body === undefined || typeof (body as { pipe?: unknown }).pipe !== "function") {
            throw Object.assign(new Error("Send the file's bytes as application/octet-stream."), {
              statusCode: 415,
            });
          }
          const file = await transfer.upload(
            principal(request),
            request.params.id,
            request.params.name,
            typeof sha === "string" ? sha.toLowerCase() : undefined,
            body as import("node:stream").Readable,
          );
          const { created, ...rest } = file;
          return reply.status(created ? 201 : 200).send(rest);
        },
      );

      api.post<{ Params: { id: string }; Body: S.SealBody }>(
        "/batches/:id/seal",
        {
          schema: {
            summary: "Seal a batch: its files are complete",
            description:
              "Lists every file with its SHA-256; the server checks them against what it received and against prepare.json. Sealing again answers the batch as it is. Once sealed, the batch is queued: per connector, batches are synchronized one at a time in notification order, each at most once.",
            params: S.idParams,
            body: S.sealRequest,
            response: { 200: S.batchView, ...S.errors(400, 401, 403, 404, 409) },
          },
        },
        async (request) => {
          const view = await transfer.seal(principal(request), request.params.id, request.body);
          request.log.info({ batch: view.id, connector: view.connector, state: view.state }, "batch sealed");
          return view;
        },
      );

      api.get<{
        Params: { id: string };
        Querystring: { operation?: string; entityType?: string; offset?: number; limit?: number };
      }>(
        "/batches/:id/changes",
        {
          schema: {
            summary: "Page through a batch's staged changes (admin)",
            params: S.idParams,
            querystring: S.changesQuery,
            response: { 200: S.changesPage, ...S.errors(401, 403, 404) },
          },
        },
        (request) => {
          requireAdmin(principal(request), "read a batch's changes");
          const q = request.query;
          return deps.mutex.run(() =>
            batchChanges(deps.store, request.params.id, {
              limit: q.limit ?? 50,
              offset: q.offset ?? 0,
              ...(q.operation === undefined ? {} : { operation: q.operation }),
              ...(q.entityType === undefined ? {} : { scope: q.entityType }),
            }),
          );
        },
      );

      api.post<{ Params: { id: string } }>(
        "/batches/:id/validate",
        {
          schema: {
            summary: "Apply a blocked batch as staged (admin)",
            params: S.idParams,
            response: { 200: S.anyObject, ...S.errors(401, 403, 404, 409) },
          },
        },
        async (request) => {
          requireAdmin(principal(request), "validate a batch");
          const report = await worker.validate(request.params.id);
          request.log.info({ batch: request.params.id }, "batch validated by the administrator");
          return report;
        },
      );

      api.post<{ Params: { id: string } }>(
        "/batches/:id/cancel",
        {
          schema: {
            summary: "Discard a blocked batch (admin)",
            params: S.idParams,
            response: { 200: S.batchView, ...S.errors(401, 403, 404, 409) },
          },
        },
        async (request) => {
          requireAdmin(principal(request), "cancel a batch");
          const batch = await worker.cancel(request.params.id);
          request.log.info({ batch: batch.id }, "batch cancelled by the administrator");
          return deps.mutex.run(() => transfer.viewOf(batch));
        },
      );

      api.get<{ Params: { name: string } }>(
        "/connectors/:name",
        {
          schema: {
            summary: "A connector's queue: last accepted and applied batch, blocking batch",
            params: S.nameParams,
            response: { 200: S.connectorStatus, ...S.errors(400, 401, 403) },
          },
        },
        (request) => transfer.connectorStatus(principal(request), request.params.name),
      );

      api.post<{ Body: JobInstance }>(
        "/job-instances",
        {
          schema: {
            summary: "Record a job run (agent)",
            body: S.jobInstance,
            response: { 200: S.jobInstance, 201: S.jobInstance, ...S.errors(400, 401, 403) },
          },
        },
        async (request, reply) => {
          const who = principal(request);
          requireConnector(who, request.body.connector);
          const instance = { ...request.body, agent: who.kind === "agent" ? who.id : request.body.agent };
          const created = await deps.mutex.run(() => deps.store.jobs.record(instance));
          request.log.info(
            { job: instance.job, outcome: instance.outcome, instance: instance.id },
            "job instance recorded",
          );
          return reply.status(created ? 201 : 200).send(instance);
        },
      );

      api.get<{ Querystring: { job?: string; limit?: number } }>(
        "/job-instances",
        {
          schema: {
            summary: "Job runs, newest first",
            querystring: S.jobQuery,
            response: { 200: { type: "array", items: S.jobInstance }, ...S.errors(401) },
          },
        },
        (request) => {
          const who = principal(request);
          return deps.mutex.run(() =>
            deps.store.jobs.list({
              limit: request.query.limit ?? 20,
              ...(request.query.job === undefined ? {} : { job: request.query.job }),
              ...(who.kind === "agent" ? { connectors: who.connectors } : {}),
            }),
          );
        },
      );
      done();
    },
    { prefix: API_PREFIX },
  );

  return app;
}
