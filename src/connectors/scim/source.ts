/** The SCIM side of an object export for one resource type (see ObjectSource). */
import { SyncupError } from "../../errors.js";
import type { ExportedObject, ObjectSource } from "../shared/object-export.js";
import { ScimHttpError, type ScimClient, type ScimResource } from "./client.js";
import { parsePath, pathCell, pathValues, topAttribute } from "./paths.js";
import type { ScimResourceType } from "./schema.js";

/** Escapes a string for a SCIM filter's quoted value. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function scimSource(
  client: ScimClient,
  type: ScimResourceType,
  options: {
    readonly pageSize: number;
    /** Whether the server filters (ServiceProviderConfig filter.supported). */
    readonly filtering: boolean;
    readonly label: string;
    readonly log?: ((line: string) => void) | undefined;
  },
): ObjectSource {
  const columns = type.attributes.map(parsePath);
  const links = Object.entries(type.links).map(([table, link]) => ({
    table,
    path: parsePath(link.attribute),
  }));
  const lastModified = parsePath("meta.lastModified");
  const requested = [
    ...new Set(["id", "meta", ...columns.map(topAttribute), ...links.map((l) => topAttribute(l.path))]),
  ].join(",");
  const withFilter = (extra: string | undefined): string | undefined =>
    extra === undefined ? type.filter : type.filter === undefined ? extra : `(${type.filter}) and ${extra}`;

  const objectOf = (resource: ScimResource): ExportedObject | undefined => {
    const id = resource["id"];
    if (typeof id !== "string" || id === "") {
      options.log?.(`${options.label}: a resource of ${type.endpoint} has no id; skipped.`);
      return undefined;
    }
    const linkValues: Record<string, string[]> = {};
    for (const link of links) linkValues[link.table] = pathValues(resource, link.path);
    const changedAt = pathValues(resource, lastModified)[0];
    return { key: id, row: columns.map((c) => pathCell(resource, c)), links: linkValues, changedAt };
  };

  async function* objects(filter: string | undefined): AsyncGenerator<ExportedObject[]> {
    for await (const page of client.list(
      type.endpoint,
      { attributes: requested, filter },
      options.pageSize,
    )) {
      yield page.map(objectOf).filter((o): o is ExportedObject => o !== undefined);
    }
  }

  async function fetchOne(id: string): Promise<ExportedObject | undefined> {
    if (type.filter !== undefined && options.filtering) {
      const filter = withFilter(`id eq ${quoted(id)}`);
      for await (const page of client.list(type.endpoint, { attributes: requested, filter }, 2)) {
        const found = page.find((r) => r["id"] === id);
        if (found !== undefined) return objectOf(found);
      }
      return undefined;
    }
    const body = await client.get(
      `${type.endpoint}/${encodeURIComponent(id)}`,
      { attributes: requested },
      true,
    );
    if (body === undefined || typeof body !== "object" || body === null) return undefined;
    return objectOf(body as ScimResource);
  }

  return {
    all: () => objects(type.filter),
    async *changedSince(watermark) {
      if (!options.filtering) {
        yield* objects(type.filter);
        return;
      }
      try {
        yield* objects(withFilter(`meta.lastModified ge ${quoted(watermark)}`));
      } catch (error) {
        const cause = error instanceof SyncupError ? error.cause : undefined;
        if (!(cause instanceof ScimHttpError) || cause.status !== 400) throw error;
        options.log?.(
          `${options.label}: ${type.endpoint} refuses the filter on meta.lastModified (${cause.message}); reading every resource instead.`,
        );
        yield* objects(type.filter);
      }
    },
    async *keys() {
      for await (const page of client.list(
        type.endpoint,
        { attributes: "id", filter: type.filter },
        options.pageSize,
      )) {
        yield page.map((r) => r["id"]).filter((id): id is string => typeof id === "string" && id !== "");
      }
    },
    fetch: fetchOne,
    confirmGone: async (id) => (await fetchOne(id)) === undefined,
    parseWatermark: (raw) => {
      const ms = Date.parse(raw);
      return Number.isNaN(ms) ? undefined : ms;
    },
    formatWatermark: (ms) => new Date(ms).toISOString(),
  };
}
