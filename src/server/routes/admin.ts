/**
 * The administrator's routes on a batch: page through its staged changes, apply a blocked batch
 * as staged, or discard it. The caller is checked here; the work is `BatchAdminService`'s.
 */
import { requireAdmin, requireApprover } from "../auth.js";
import type { BatchAdminService } from "../batch-admin.js";
import * as S from "../schemas.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

export function registerAdminRoutes(api: Api, deps: { readonly batches: BatchAdminService }) {
  const { batches } = deps;

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
      requireAdmin(principalOf(request), "read a batch's changes");
      const q = request.query;
      return batches.changes(request.params.id, {
        limit: q.limit ?? 50,
        offset: q.offset ?? 0,
        ...(q.operation === undefined ? {} : { operation: q.operation }),
        ...(q.entityType === undefined ? {} : { scope: q.entityType }),
      });
    },
  );

  api.post<{ Params: { id: string } }>(
    "/batches/:id/validate",
    {
      schema: {
        summary: "Apply a blocked batch as staged (approver)",
        params: S.idParams,
        response: { 200: S.anyObject, ...S.errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const admin = requireApprover(principalOf(request), "validate a batch");
      const report = await batches.validate(request.params.id);
      request.log.info({ batch: request.params.id, admin: admin.id }, "batch validated by an administrator");
      return report;
    },
  );

  api.post<{ Params: { id: string } }>(
    "/batches/:id/cancel",
    {
      schema: {
        summary: "Discard a blocked batch (approver)",
        params: S.idParams,
        response: { 200: S.batchView, ...S.errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const admin = requireApprover(principalOf(request), "cancel a batch");
      const view = await batches.cancel(request.params.id);
      request.log.info({ batch: view.id, admin: admin.id }, "batch cancelled by an administrator");
      return view;
    },
  );
}
