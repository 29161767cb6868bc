/** `/api/v1/orphans`: the pairs of a connector's association files that are not links yet (`OrphanService`). */
import { requireAdmin } from "../auth.js";
import * as C from "../console-schemas.js";
import type { OrphanService } from "../orphans.js";
import * as S from "../schemas.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

export function registerOrphanRoutes(api: Api, deps: { readonly orphans: OrphanService }) {
  api.get<{ Querystring: { connector: string; association?: string; after?: string; limit?: number } }>(
    "/orphans",
    {
      schema: {
        summary: "A connector's orphans: pairs with an end no resource has (admin)",
        description:
          "Each with the keys that were not found and the batch that set it aside, by association and keys; `next` continues the page (keyset paging).",
        querystring: C.orphanQuery,
        response: { 200: C.orphanPage, ...S.errors(401, 403) },
      },
    },
    (request) => {
      requireAdmin(principalOf(request), "read orphans");
      return deps.orphans.page({ ...request.query, limit: request.query.limit ?? 50 });
    },
  );
}
