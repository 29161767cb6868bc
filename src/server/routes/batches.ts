/**
 * `/api/v1/batches`: an agent notifies a batch (and may abandon it before sealing); agents and
 * administrators list batches (filtered, paged by key) and read one with its changes. The batch protocol is
 * `TransferService`'s; the detail `BatchAdminService`'s.
 */
import type { BatchListFilter } from "../../store/batches.js";
import type { BatchAdminService } from "../batch-admin.js";
import * as C from "../console-schemas.js";
import * as S from "../schemas.js";
import type { TransferService } from "../transfer.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

export function registerBatchRoutes(
  api: Api,
  deps: { readonly transfer: TransferService; readonly batches: BatchAdminService },
) {
  const { transfer, batches } = deps;

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
      const answer = await transfer.notify(principalOf(request), request.body);
      request.log.info(
        { batch: answer.id, connector: answer.connector, mode: answer.mode, cancelled: answer.cancelled },
        "batch notified",
      );
      return reply.status(201).send(answer);
    },
  );

  api.get<{ Querystring: Omit<BatchListFilter, "connectors"> & { limit?: number } }>(
    "/batches",
    {
      schema: {
        summary: "List batches, newest first",
        description:
          "Filtered by connector, state, mode and creation time; a page continues with `before` set to the `seq` of the previous page's last batch (keyset paging). An agent sees its connectors' batches only.",
        querystring: C.batchListQuery,
        response: { 200: { type: "array", items: S.batchView }, ...S.errors(401, 403) },
      },
    },
    (request) => {
      const { limit, ...filter } = request.query;
      return transfer.list(principalOf(request), { limit: limit ?? 20, ...filter });
    },
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
    (request) => batches.detail(principalOf(request), request.params.id),
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
    (request) => transfer.abandon(principalOf(request), request.params.id),
  );
}
