/** `/api/v1/resources`: administrators search the repository's resources and read one (`ResourceBrowser`). */
import { requireAdmin } from "../auth.js";
import * as C from "../console-schemas.js";
import type { ResourceBrowser, ResourceQuery } from "../resource-browser.js";
import * as S from "../schemas.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

export function registerResourceRoutes(api: Api, deps: { readonly resources: ResourceBrowser }) {
  api.get<{ Querystring: Omit<ResourceQuery, "limit"> & { limit?: number } }>(
    "/resources",
    {
      schema: {
        summary: "Search a connector's resources (admin)",
        description:
          "By entity type, primary key prefix, unique key, or a property's value (property and value: a scan of the entity type's resources). In (entity type, key) order; `next` continues the page (keyset paging).",
        querystring: C.resourceQuery,
        response: { 200: C.resourcePage, ...S.errors(401, 403) },
      },
    },
    (request) => {
      requireAdmin(principalOf(request), "search resources");
      return deps.resources.search({ ...request.query, limit: request.query.limit ?? 50 });
    },
  );

  api.get<{ Params: { id: number } }>(
    "/resources/:id",
    {
      schema: {
        summary: "A resource: values, links both ways, mono-valued references (admin)",
        params: C.resourceIdParams,
        response: { 200: C.resourceDetail, ...S.errors(401, 403, 404) },
      },
    },
    (request) => {
      requireAdmin(principalOf(request), "read a resource");
      return deps.resources.detail(request.params.id);
    },
  );
}
