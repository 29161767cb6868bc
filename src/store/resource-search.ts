/** The console's search of a connector's resources: by entity type, key prefix, unique key or a property's value. */
import { RESOURCE_SELECT } from "./batch-seq.js";
import type { Driver, SqlValue } from "./driver.js";
import { prefixRange } from "./key-range.js";
import { toResource, type ResourceRecord } from "./resource-rows.js";
import type { ResourceRow } from "./types.js";

/** What `searchResources` looks for. */
export interface ResourceSearch {
  readonly connector: string;
  readonly entityType?: string;
  readonly keyPrefix?: string;
  readonly uniqueKey?: string;
  /** A property (of the entity model) and its value, as text. */
  readonly property?: { readonly name: string; readonly value: string };
  /** The entity type and key of the last resource of the previous page. */
  readonly after?: readonly [entityType: string, pk: string];
  readonly limit: number;
}

/**
 * A page of a connector's resources in (entity type, key) order, after `after`: of one entity
 * type, whose primary key starts with `keyPrefix` (a range of the key index), whose unique
 * key is `uniqueKey`, or whose `property` holds `value` (a scan of the entity type's rows).
 */
export async function searchResources(db: Driver, query: ResourceSearch): Promise<ResourceRow[]> {
  const where = ["connector = ?"];
  const params: SqlValue[] = [query.connector];
  if (query.entityType !== undefined) {
    where.push("entity_type = ?");
    params.push(query.entityType);
  }
  if (query.keyPrefix !== undefined && query.keyPrefix !== "") {
    const range = prefixRange("pk", query.keyPrefix);
    where.push(range.sql);
    params.push(...range.params);
  }
  if (query.uniqueKey !== undefined) {
    where.push("(uk1 = ? OR uk2 = ? OR uk3 = ?)");
    params.push(query.uniqueKey, query.uniqueKey, query.uniqueKey);
  }
  if (query.property !== undefined) {
    const name = query.property.name.replace(/["'\\]/g, "");
    where.push(
      db.dialect === "postgres"
        ? `(properties::jsonb ->> '${name}') = ?`
        : `CAST(json_extract(properties, '$."${name}"') AS TEXT) = ?`,
    );
    params.push(query.property.value);
  }
  if (query.after !== undefined) {
    where.push("(entity_type > ? OR (entity_type = ? AND pk > ?))");
    params.push(query.after[0], query.after[0], query.after[1]);
  }
  const rows = await db.all<ResourceRecord>(
    `SELECT ${RESOURCE_SELECT} FROM UR_Resources r WHERE ${where.join(" AND ")} ORDER BY entity_type, pk LIMIT ?`,
    [...params, query.limit],
  );
  return rows.map(toResource);
}
