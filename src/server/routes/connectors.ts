/** `/api/v1/connectors/:name`: a connector's queue, as `TransferService` reads it. */
import * as S from "../schemas.js";
import type { TransferService } from "../transfer.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

export function registerConnectorRoutes(api: Api, deps: { readonly transfer: TransferService }) {
  api.get<{ Params: { name: string } }>(
    "/connectors/:name",
    {
      schema: {
        summary: "A connector's queue: last accepted and applied batch, blocking batch",
        params: S.nameParams,
        response: { 200: S.connectorStatus, ...S.errors(400, 401, 403) },
      },
    },
    (request) => deps.transfer.connectorStatus(principalOf(request), request.params.name),
  );
}
