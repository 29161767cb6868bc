/**
 * `/api/v1/connectors`: every connector at a glance (administrators, `OverviewService`), and
 * one connector's queue (`TransferService`).
 */
import { requireAdmin } from "../auth.js";
import * as C from "../console-schemas.js";
import type { OverviewService } from "../overview.js";
import * as S from "../schemas.js";
import type { TransferService } from "../transfer.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

export function registerConnectorRoutes(
  api: Api,
  deps: { readonly transfer: TransferService; readonly overview: OverviewService },
) {
  api.get(
    "/connectors",
    {
      schema: {
        summary: "Every connector at a glance (admin)",
        description:
          "Each connector's state (blocked, failed, running, waiting, applied, never run), its last batch of each mode, resources by entity type, orphans by association, the thresholds a blocked batch crossed (in words) and the next scheduled job; blocked connectors first.",
        response: { 200: C.connectorOverviews, ...S.errors(401, 403) },
      },
    },
    (request) => {
      requireAdmin(principalOf(request), "read the connectors' overview");
      return deps.overview.connectors();
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
    (request) => deps.transfer.connectorStatus(principalOf(request), request.params.name),
  );
}
