/**
 * The repository's resources as administrators look them up: a search within a connector (by
 * entity type, primary key prefix, unique key or a property's value), paged by key, and one
 * resource with its values, its links in both directions and its mono-valued references, each
 * other end named by entity type and key so that the console can link to it.
 */
import type { Config, EntityTypeDef } from "../config/config.js";
import { requireConnector } from "../config/require-connector.js";
import { SyncupError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { ResourceRow } from "../store/types.js";
import type { Mutex } from "./mutex.js";
import { decodeCursor, encodeCursor } from "./cursor.js";

/** A resource as a list shows it. */
export interface ResourceSummary {
  readonly id: number;
  readonly connector: string;
  readonly entityType: string;
  readonly key: string;
  readonly uniqueKeys: readonly (string | null)[];
}

/** The other end of a link or reference. */
export interface ResourceRef {
  readonly id: number;
  readonly entityType: string;
  readonly key: string;
}

export interface ResourceDetail extends ResourceSummary {
  readonly values: Record<string, unknown>;
  readonly batchId: string;
  readonly createdBatchId: string;
  /** Multi-valued links: `out` where this resource is the association's first end. */
  readonly links: readonly {
    readonly association: string;
    readonly direction: "out" | "in";
    /** The navigation property of this resource that holds the link. */
    readonly property: string | null;
    readonly other: ResourceRef;
  }[];
  /** True when the resource has more links than `LINKS_SHOWN`. */
  readonly linksTruncated: boolean;
  /** This resource's mono-valued references (its own property → the resource it names). */
  readonly references: readonly { readonly property: string; readonly target: ResourceRef }[];
  /** Resources whose mono-valued property names this one. */
  readonly referencedBy: readonly { readonly property: string; readonly source: ResourceRef }[];
}

export interface ResourceQuery {
  readonly connector: string;
  readonly entityType?: string;
  readonly keyPrefix?: string;
  readonly uniqueKey?: string;
  readonly property?: string;
  readonly value?: string;
  readonly after?: string;
  readonly limit: number;
}

/** Links shown on a resource's page at most (a group may have many members). */
export const LINKS_SHOWN = 500;

export class ResourceBrowser {
  constructor(
    private readonly deps: { readonly config: Config; readonly store: Store; readonly mutex: Mutex },
  ) {}

  /** A page of matching resources in (entity type, key) order; `next` continues it. */
  async search(query: ResourceQuery): Promise<{ rows: ResourceSummary[]; next: string | null }> {
    const connector = requireConnector(this.deps.config, query.connector);
    const entityTypes = connector.entityTypeMappings.map((m) => m.name);
    if (query.entityType !== undefined && !entityTypes.includes(query.entityType)) {
      throw new SyncupError(
        "REQUEST_INVALID",
        `Connector "${connector.name}" has no entity type "${query.entityType}" (it has: ${entityTypes.join(", ")}).`,
      );
    }
    const property = this.propertyOf(query, entityTypes);
    const after = query.after === undefined ? undefined : cursorKey(query.after);
    const rows = await this.deps.mutex.run(() =>
      this.deps.store.resources.search({
        connector: connector.name,
        limit: query.limit,
        ...(query.entityType === undefined ? {} : { entityType: query.entityType }),
        ...(query.keyPrefix === undefined ? {} : { keyPrefix: query.keyPrefix }),
        ...(query.uniqueKey === undefined ? {} : { uniqueKey: query.uniqueKey }),
        ...(property === undefined ? {} : { property }),
        ...(after === undefined ? {} : { after }),
      }),
    );
    const last = rows[rows.length - 1];
    return {
      rows: rows.map(summaryOf),
      next: rows.length < query.limit || last === undefined ? null : encodeCursor([last.entityType, last.pk]),
    };
  }

  /** One resource with its values, links and references (RESOURCE_NOT_FOUND when none has the id). */
  async detail(id: number): Promise<ResourceDetail> {
    const { store } = this.deps;
    return this.deps.mutex.run(async () => {
      const row = await store.resources.byId(id);
      if (row === undefined) {
        throw new SyncupError(
          "RESOURCE_NOT_FOUND",
          `No resource has id ${id}: it may have been deleted since. Search for it by key instead.`,
        );
      }
      const links = await store.links.linksOf(id, LINKS_SHOWN + 1);
      const referencedBy = (await store.resources.referencing(id)).slice(0, LINKS_SHOWN);
      const otherIds = [
        ...links.map((l) => (l.resource1 === id ? l.resource2 : l.resource1)),
        ...Object.values(row.mono),
      ];
      const refs = new Map(
        (await store.resources.byIds([...new Set(otherIds)])).map((r) => [
          r.id,
          { id: r.id, entityType: r.entity_type, key: r.pk },
        ]),
      );
      const refOf = (other: number): ResourceRef =>
        refs.get(other) ?? { id: other, entityType: "?", key: "?" };
      return {
        ...summaryOf(row),
        values: JSON.parse(row.properties) as Record<string, unknown>,
        batchId: row.batchId,
        createdBatchId: row.createdBatchId,
        links: links.slice(0, LINKS_SHOWN).map((l) => {
          const direction = l.resource1 === id ? "out" : "in";
          const association = this.deps.config.associations[l.association];
          const end = direction === "out" ? association?.end1 : association?.end2;
          return {
            association: l.association,
            direction,
            property: end?.property ?? null,
            other: refOf(direction === "out" ? l.resource2 : l.resource1),
          };
        }),
        linksTruncated: links.length > LINKS_SHOWN,
        references: Object.entries(row.mono).map(([column, target]) => ({
          property: this.monoProperty(row.entityType, Number(column)) ?? `i${column}`,
          target: refOf(target),
        })),
        referencedBy: referencedBy.flatMap((source) =>
          Object.entries(source.mono)
            .filter(([, target]) => target === id)
            .map(([column]) => ({
              property: this.monoProperty(source.entityType, Number(column)) ?? `i${column}`,
              source: { id: source.id, entityType: source.entityType, key: source.pk },
            })),
        ),
      };
    });
  }

  /** The property of a search by value, checked against the entity model. */
  private propertyOf(
    query: ResourceQuery,
    entityTypes: readonly string[],
  ): { name: string; value: string } | undefined {
    if (query.property === undefined && query.value === undefined) return undefined;
    if (query.property === undefined || query.value === undefined) {
      throw new SyncupError("REQUEST_INVALID", "A search by value needs both property and value.");
    }
    const types = query.entityType === undefined ? entityTypes : [query.entityType];
    const known = types.flatMap((t) => this.entityType(t)?.scalars.map((s) => s.name) ?? []);
    if (!known.includes(query.property)) {
      throw new SyncupError(
        "REQUEST_INVALID",
        `No entity type searched has a property "${query.property}" (they have: ${[...new Set(known)].join(", ")}).`,
      );
    }
    return { name: query.property, value: query.value };
  }

  private entityType(name: string): EntityTypeDef | undefined {
    return this.deps.config.entityTypes[name];
  }

  private monoProperty(entityType: string, column: number): string | undefined {
    return this.entityType(entityType)?.navigations.find((n) => n.monoColumnIndex === column)?.name;
  }
}

function cursorKey(cursor: string): readonly [string, string] {
  const [entityType = "", pk = ""] = decodeCursor(cursor, 2);
  return [entityType, pk];
}

function summaryOf(row: ResourceRow): ResourceSummary {
  return {
    id: row.id,
    connector: row.connector,
    entityType: row.entityType,
    key: row.pk,
    uniqueKeys: [row.uk1, row.uk2, row.uk3],
  };
}
