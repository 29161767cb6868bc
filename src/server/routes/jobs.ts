/**
 * `/api/v1/jobs`: the configured jobs with their schedules and last runs (administrators);
 * `/api/v1/job-instances`: agents record their job runs; agents and administrators read them.
 */
import type { JobInstance } from "../../protocol/api.js";
import { requireAdmin, requireApprover } from "../auth.js";
import * as C from "../console-schemas.js";
import type { JobHistoryService } from "../job-history.js";
import type { JobRunService } from "../job-runs.js";
import type { JobScheduleService } from "../job-schedules.js";
import * as S from "../schemas.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

export function registerJobRoutes(
  api: Api,
  deps: {
    readonly jobs: JobHistoryService;
    readonly schedules: JobScheduleService;
    readonly runs: JobRunService;
  },
) {
  const { jobs } = deps;

  api.post<{ Params: { name: string } }>(
    "/jobs/:name/run",
    {
      schema: {
        summary: "Run a job now, on the server (approver)",
        description:
          "Runs the job as `syncup jobs run` would on the server's host: only a job whose connector no agent runs (409 JOB_REMOTE), one per connector at a time (409 JOB_RUNNING). Answers 200 with the run's record when it ended within 2 s, else 202 `running`; the run shows in the job history when it ends.",
        params: S.nameParams,
        response: { 200: C.runNowAnswer, 202: C.runNowAnswer, ...S.errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const admin = requireApprover(principalOf(request), "run a job");
      const answer = await deps.runs.runNow(request.params.name, admin);
      return reply.status(answer.state === "running" ? 202 : 200).send(answer);
    },
  );

  api.get(
    "/jobs",
    {
      schema: {
        summary: "The configured jobs: schedule, next and last run, the agents that run them (admin)",
        response: { 200: C.jobViews, ...S.errors(401, 403) },
      },
    },
    (request) => {
      requireAdmin(principalOf(request), "read the jobs");
      return deps.schedules.list();
    },
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
      const { instance, created } = await jobs.record(principalOf(request), request.body);
      request.log.info(
        { job: instance.job, outcome: instance.outcome, instance: instance.id },
        "job instance recorded",
      );
      return reply.status(created ? 201 : 200).send(instance);
    },
  );

  api.get<{ Querystring: { job?: string; before?: string; limit?: number } }>(
    "/job-instances",
    {
      schema: {
        summary: "Job runs, newest first",
        description:
          "A page continues with `before` set to the id of the previous page's last run (keyset paging).",
        querystring: S.jobQuery,
        response: { 200: { type: "array", items: S.jobInstance }, ...S.errors(401) },
      },
    },
    (request) =>
      jobs.list(principalOf(request), {
        limit: request.query.limit ?? 20,
        ...(request.query.job === undefined ? {} : { job: request.query.job }),
        ...(request.query.before === undefined ? {} : { before: request.query.before }),
      }),
  );
}
