/**
 * A connector's mappings: entity type mappings (a table's rows become resources: keys and
 * scalar properties, each property's converter compiled here so that a format it cannot read
 * fails at load) and entity association mappings (a table's rows become links between two
 * mapped entity types, each end named by a key of its mapping).
 */
import { compileConverter } from "../core/convert.js";
import type { ThresholdName } from "../core/thresholds.js";
import type {
  AssociationDef,
  AssociationMappingDef,
  CsvTableDef,
  EntityTypeDef,
  EntityTypeMappingDef,
  PropertyMappingDef,
} from "./config.js";
import type { ConfigPath, RawConnector, Resolving } from "./resolving.js";
import type { Thresholds } from "./schema.js";

type RawEntityTypeMapping = NonNullable<RawConnector["entityTypeMappings"]>[string];
type RawPropertyMapping = NonNullable<RawEntityTypeMapping["properties"]>[string];

/** The entity type mappings of connector `cpath`, whose tables are `tables`. */
export function resolveEntityTypeMappings(
  cpath: ConfigPath,
  rawConnector: RawConnector,
  entityTypes: Readonly<Record<string, EntityTypeDef>>,
  tables: Readonly<Record<string, CsvTableDef>>,
  r: Resolving,
): EntityTypeMappingDef[] {
  const entityTypeMappings: EntityTypeMappingDef[] = [];
  for (const [typeName, m] of Object.entries(rawConnector.entityTypeMappings ?? {})) {
    const mpath = [...cpath, "entityTypeMappings", typeName];
    const type = entityTypes[typeName];
    if (type === undefined) {
      r.problem(mpath, `"${typeName}" is not an entity type of entityModel.entityTypes`);
      continue;
    }
    if (!(m.table in tables))
      r.problem(
        [...mpath, "table"],
        `unknown table "${m.table}" (this connector has: ${tableNames(tables)})`,
      );
    if (m.primaryKey === "") r.problem([...mpath, "primaryKey"], "the primary key column cannot be empty");
    const uniqueKeys = m.uniqueKeys ?? [];
    uniqueKeys.forEach((k, i) => {
      if (k === m.primaryKey || uniqueKeys.indexOf(k) !== i) {
        r.problem([...mpath, "uniqueKeys", i], `"${k}" is already a key of this mapping`);
      }
    });
    const properties: PropertyMappingDef[] = [];
    for (const [propName, pm] of Object.entries(m.properties ?? {})) {
      const property = propertyMapping(mpath, type, propName, pm, r);
      if (property !== undefined) properties.push(property);
    }
    const columns = [...new Set([m.primaryKey, ...uniqueKeys, ...properties.map((p) => p.column)])];
    entityTypeMappings.push({
      kind: "entity",
      name: typeName,
      table: m.table,
      primaryKey: m.primaryKey,
      uniqueKeys,
      properties,
      columns,
      thresholds: definedThresholds(m.thresholds),
    });
  }
  return entityTypeMappings;
}

/** The mapping of scalar property `propName` of `type`, or undefined when it has none. */
function propertyMapping(
  mpath: ConfigPath,
  type: EntityTypeDef,
  propName: string,
  pm: RawPropertyMapping,
  r: Resolving,
): PropertyMappingDef | undefined {
  const scalar = type.scalars.find((s) => s.name === propName);
  if (scalar === undefined) {
    const isNav = type.navigations.some((n) => n.name === propName);
    r.problem(
      [...mpath, "properties", propName],
      isNav
        ? `"${propName}" is a navigation property: map it through an entity association mapping`
        : `"${propName}" is not a scalar property of "${type.name}"`,
    );
    return undefined;
  }
  const ppath = [...mpath, "properties", propName];
  const column = typeof pm === "string" ? pm : pm.column;
  if (column === "") r.problem(ppath, "the column name cannot be empty");
  const property: PropertyMappingDef = {
    property: propName,
    column,
    type: scalar.type,
    multiValued: scalar.multiValued,
    format: typeof pm === "string" ? null : (pm.format ?? null),
    separator: typeof pm === "string" ? "|" : (pm.separator ?? "|"),
  };
  try {
    // The converter the synchronization will use: a format it cannot read fails here, not there.
    compileConverter(property);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const key = message.includes("separator") ? "separator" : "format";
    r.problem(typeof pm === "string" ? ppath : [...ppath, key], message);
  }
  return property;
}

/** The association mappings of connector `cpath`, whose entity type mappings are `entityTypeMappings`. */
export function resolveAssociationMappings(
  cpath: ConfigPath,
  rawConnector: RawConnector,
  associations: Readonly<Record<string, AssociationDef>>,
  tables: Readonly<Record<string, CsvTableDef>>,
  entityTypeMappings: readonly EntityTypeMappingDef[],
  r: Resolving,
): AssociationMappingDef[] {
  const associationMappings: AssociationMappingDef[] = [];
  for (const [assocName, m] of Object.entries(rawConnector.entityAssociationMappings ?? {})) {
    const mpath = [...cpath, "entityAssociationMappings", assocName];
    const assoc = associations[assocName];
    if (assoc === undefined) {
      r.problem(mpath, `"${assocName}" is not an association of entityModel.associations`);
      continue;
    }
    if (assocName in (rawConnector.entityTypeMappings ?? {})) {
      r.problem(
        mpath,
        `"${assocName}" is also an entity type mapping of this connector: prepared file names would clash`,
      );
    }
    if (!(m.table in tables))
      r.problem(
        [...mpath, "table"],
        `unknown table "${m.table}" (this connector has: ${tableNames(tables)})`,
      );
    if (m.column1 === m.column2) r.problem([...mpath, "column2"], "column1 and column2 must differ");
    const keys = ([1, 2] as const).map((i) =>
      endKey(mpath, i, i === 1 ? assoc.end1 : assoc.end2, i === 1 ? m.key1 : m.key2, entityTypeMappings, r),
    );
    associationMappings.push({
      kind: "association",
      name: assocName,
      table: m.table,
      column1: m.column1,
      column2: m.column2,
      key1: keys[0] ?? "",
      key2: keys[1] ?? "",
      end1EntityType: assoc.end1.entityType,
      end2EntityType: assoc.end2.entityType,
      columns: [m.column1, m.column2],
      thresholds: definedThresholds(m.thresholds),
    });
  }
  return associationMappings;
}

/** The key that names end `i`'s resources: `keyName`, or its mapping's primary key. */
function endKey(
  mpath: ConfigPath,
  i: 1 | 2,
  end: AssociationDef["end1"],
  keyName: string | undefined,
  entityTypeMappings: readonly EntityTypeMappingDef[],
  r: Resolving,
): string {
  const mapping = entityTypeMappings.find((e) => e.name === end.entityType);
  if (mapping === undefined) {
    r.problem(
      mpath,
      `end ${i} is an "${end.entityType}", which this connector has no entity type mapping for`,
    );
    return keyName ?? "";
  }
  const key = keyName ?? mapping.primaryKey;
  if (key !== mapping.primaryKey && !mapping.uniqueKeys.includes(key)) {
    r.problem(
      [...mpath, `key${i}`],
      `"${key}" is neither the primary key nor a unique key of mapping "${mapping.name}" (keys: ${[mapping.primaryKey, ...mapping.uniqueKeys].join(", ")})`,
    );
  }
  return key;
}

function tableNames(tables: Readonly<Record<string, CsvTableDef>>): string {
  return Object.keys(tables).join(", ") || "none";
}

/** The thresholds set (a key given as undefined is not set). */
export function definedThresholds(raw: Thresholds | undefined): Partial<Record<ThresholdName, number>> {
  const out: Partial<Record<ThresholdName, number>> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (value !== undefined) out[key as ThresholdName] = value;
  }
  return out;
}
