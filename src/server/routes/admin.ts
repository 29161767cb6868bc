/**
 * The administrators' routes on a batch: page through its changes before → after, approve or
 * reject parts of it, apply it as decided, validate or cancel it whole, undo it once applied.
 * Reading takes a viewer; deciding an approver. The caller is checked here; the work is
 * `BatchAdminService`'s.
 */
import type { ChangeSelection, Decision } from "../../store/journal.js";
import { requireAdmin, requireApprover } from "../auth.js";
import type { BatchAdminService } from "../batch-admin.js";
import * as R from "../review-schemas.js";
import * as S from "../schemas.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

type SelectionQuery = Omit<ChangeSelection, "ids" | "keys">;

const DECISIONS = { approve: "approved", reject: "rejected" } as const satisfies Record<string, Decision>;

export function registerAdminRoutes(api: Api, deps: { readonly batches: BatchAdminService }) {
  registerReads(api, deps);
  registerDecisions(api, deps);
  registerWholeDecisions(api, deps);
}

/** Deciding on part of a batch and applying it as decided (approvers). */
function registerDecisions(api: Api, deps: { readonly batches: BatchAdminService }) {
  const { batches } = deps;

  api.post<{
    Params: { id: string };
    Body: { decision: keyof typeof DECISIONS; ids?: string[]; filter?: ChangeSelection };
  }>(
    "/batches/:id/decisions",
    {
      schema: {
        summary: "Approve or reject part of a blocked or previewed batch (approver)",
        description:
          "By change ids, or by a filter (operation, entity type, association, key prefix, keys, property). Rejecting a resource's delete rejects the removal of its links; approving a link insert whose end's insert is rejected is refused.",
        params: S.idParams,
        body: R.decisionBody,
        response: { 200: R.decisionOutcome, ...S.errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const admin = requireApprover(principalOf(request), "decide on a batch");
      const { decision, ids, filter } = request.body;
      const selection: ChangeSelection = { ...filter, ...(ids === undefined ? {} : { ids }) };
      const outcome = await batches.decide(request.params.id, admin, DECISIONS[decision], selection);
      request.log.info(
        { batch: request.params.id, admin: admin.id, decision, matched: outcome.matched },
        "batch decided",
      );
      return outcome;
    },
  );

  api.post<{ Params: { id: string }; Body: { rest?: keyof typeof DECISIONS } | undefined }>(
    "/batches/:id/apply",
    {
      schema: {
        summary: "Apply a blocked or previewed batch as decided (approver)",
        description:
          "Applies the approved changes (and, with `rest`, the undecided ones) in one transaction; the batch ends applied, partial when some were rejected.",
        params: S.idParams,
        body: R.applyBody,
        response: { 200: S.anyObject, ...S.errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const admin = requireApprover(principalOf(request), "apply a batch");
      const rest = request.body?.rest;
      const report = await batches.apply(
        request.params.id,
        admin,
        rest === undefined ? undefined : DECISIONS[rest],
      );
      request.log.info({ batch: request.params.id, admin: admin.id }, "batch applied as decided");
      return report;
    },
  );
}

/** Deciding on a whole batch: validate, undo, cancel (approvers). */
function registerWholeDecisions(api: Api, deps: { readonly batches: BatchAdminService }) {
  const { batches } = deps;

  api.post<{ Params: { id: string } }>(
    "/batches/:id/validate",
    {
      schema: {
        summary: "Apply a blocked or previewed batch whole (approver)",
        params: S.idParams,
        response: { 200: S.anyObject, ...S.errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const admin = requireApprover(principalOf(request), "validate a batch");
      const report = await batches.validate(request.params.id, admin);
      request.log.info({ batch: request.params.id, admin: admin.id }, "batch validated by an administrator");
      return report;
    },
  );

  api.post<{ Params: { id: string }; Body: { force?: boolean } | undefined }>(
    "/batches/:id/undo",
    {
      schema: {
        summary: "Undo an applied batch (approver)",
        description:
          "Stages the inverse of the batch as a new batch, which passes the thresholds like any other; refused when later batches changed the same resources or links, unless forced.",
        params: S.idParams,
        body: R.undoBody,
        response: { 200: S.anyObject, ...S.errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const admin = requireApprover(principalOf(request), "undo a batch");
      const report = await batches.undo(request.params.id, admin, request.body?.force === true);
      request.log.info({ batch: request.params.id, undo: report.batchId, admin: admin.id }, "batch undone");
      return report;
    },
  );

  api.post<{ Params: { id: string } }>(
    "/batches/:id/cancel",
    {
      schema: {
        summary: "Discard a blocked or previewed batch (approver)",
        params: S.idParams,
        response: { 200: S.batchView, ...S.errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const admin = requireApprover(principalOf(request), "cancel a batch");
      const view = await batches.cancel(request.params.id, admin);
      request.log.info({ batch: view.id, admin: admin.id }, "batch cancelled by an administrator");
      return view;
    },
  );
}

/** Reading what a batch changed (its pages) and what a resource went through (its history): viewers. */
function registerReads(api: Api, deps: { readonly batches: BatchAdminService }) {
  const { batches } = deps;

  api.get<{ Params: { id: string }; Querystring: SelectionQuery & { after?: string; limit?: number } }>(
    "/batches/:id/changes",
    {
      schema: {
        summary: "Page through a batch's changes, before → after (viewer)",
        description:
          "Resources first, then links, in staging order; keyset paging: pass the page's `next` as `after`. Filters combine.",
        params: S.idParams,
        querystring: R.changesQuery,
        response: { 200: R.changesPage, ...S.errors(401, 403, 404) },
      },
    },
    (request) => {
      requireAdmin(principalOf(request), "read a batch's changes");
      const { limit, ...query } = request.query;
      return batches.changes(request.params.id, { ...query, limit: limit ?? 50 });
    },
  );

  api.get<{ Params: { id: number } }>(
    "/resources/:id/history",
    {
      schema: {
        summary: "A resource's history: every applied change of it and of its links, before → after (viewer)",
        params: { type: "object", required: ["id"], properties: { id: { type: "integer", minimum: 1 } } },
        response: { 200: R.history, ...S.errors(401, 403, 404) },
      },
    },
    (request) => {
      requireAdmin(principalOf(request), "read a resource's history");
      return batches.history({ id: request.params.id });
    },
  );

  api.get<{ Querystring: { connector: string; key: string } }>(
    "/history",
    {
      schema: {
        summary: "A primary key's history in a connector, a deleted resource's too (viewer)",
        querystring: R.historyQuery,
        response: { 200: R.history, ...S.errors(401, 403) },
      },
    },
    (request) => {
      requireAdmin(principalOf(request), "read a resource's history");
      return batches.history(request.query);
    },
  );
}
