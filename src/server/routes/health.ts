/**
 * The unauthenticated routes: liveness (`/health`), readiness (`/ready`) and the Prometheus
 * metrics (`/metrics`).
 */
import type { FastifyBaseLogger } from "fastify";
import { PATHS } from "../../protocol/api.js";
import { liveness, probeReadiness } from "../probes.js";
import { QUEUE_FAILURES_UNREADY, readinessSchema } from "../readiness.js";
import * as S from "../schemas.js";
import type { Api, AppDeps } from "./deps.js";

export function registerHealthRoutes<L extends FastifyBaseLogger>(
  app: Api<L>,
  deps: Pick<AppDeps, "store" | "worker" | "metrics">,
) {
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
    () => liveness(deps.store),
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
      const { readiness, databaseError } = await probeReadiness(deps.store, deps.worker.health());
      if (readiness.checks.database === "unavailable") {
        request.log.error({ err: databaseError }, "readiness check: the database does not answer");
      }
      return reply.status(readiness.status === "ready" ? 200 : 503).send(readiness);
    },
  );

  app.get(
    PATHS.metrics,
    { schema: { summary: "Prometheus metrics", security: [], produces: ["text/plain"] } },
    async (_request, reply) => {
      const text = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(text);
    },
  );
}
