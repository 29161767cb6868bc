/**
 * The entity model of a configuration (`entityModel`): entity types with their scalar and
 * navigation properties, and the associations that pair two navigation properties.
 */
import type { AssociationDef, EntityTypeDef } from "./config.js";
import type { Resolving } from "./resolving.js";
import type { RawConfig } from "./schema.js";

type RawModel = RawConfig["entityModel"];

/** The entity types; a navigation's target must exist, a mono-valued column index be used once. */
export function resolveEntityTypes(model: RawModel, r: Resolving): Record<string, EntityTypeDef> {
  const entityTypes: Record<string, EntityTypeDef> = {};
  for (const [typeName, type] of Object.entries(model.entityTypes)) {
    const scalars: EntityTypeDef["scalars"][number][] = [];
    const navigations: EntityTypeDef["navigations"][number][] = [];
    const monoIndexes = new Map<number, string>();
    for (const [propName, prop] of Object.entries(type.properties)) {
      const path = ["entityModel", "entityTypes", typeName, "properties", propName];
      if (prop.type === "navigation") {
        if (!(prop.target in model.entityTypes)) {
          r.problem([...path, "target"], `unknown entity type "${prop.target}"`);
        }
        const index = prop.targetColumnIndex ?? null;
        const mono = index !== null && index >= 128 ? index : null;
        if (mono !== null) {
          const other = monoIndexes.get(mono);
          if (other !== undefined) {
            r.problem([...path, "targetColumnIndex"], `column index ${mono} is already used by "${other}"`);
          }
          monoIndexes.set(mono, propName);
        }
        navigations.push({
          name: propName,
          target: prop.target,
          monoColumnIndex: mono,
          targetColumnIndex: index,
        });
      } else {
        scalars.push({ name: propName, type: prop.type, multiValued: prop.multiValued ?? false });
      }
    }
    entityTypes[typeName] = { name: typeName, scalars, navigations };
  }
  return entityTypes;
}

interface ResolvedEnd {
  readonly entityType: string;
  readonly property: string;
  readonly monoColumnIndex: number | null;
  readonly target: string;
}

/**
 * The associations: each end a navigation property of a known entity type, used by one
 * association only, targeting the other end's type; at most one end mono-valued.
 */
export function resolveAssociations(
  model: RawModel,
  entityTypes: Readonly<Record<string, EntityTypeDef>>,
  r: Resolving,
): Record<string, AssociationDef> {
  const associations: Record<string, AssociationDef> = {};
  const usedNavigation = new Map<string, string>();
  for (const [assocName, assoc] of Object.entries(model.associations ?? {})) {
    const path = ["entityModel", "associations", assocName];
    const [end1, end2] = (["property1", "property2"] as const).map((key) =>
      associationEnd(assocName, key, assoc[key], entityTypes, usedNavigation, r),
    );
    if (end1 === undefined || end2 === undefined) continue;
    if (end1.target !== end2.entityType) {
      r.problem(
        [...path, "property1"],
        `"${assoc.property1}" targets "${end1.target}", but property2 belongs to "${end2.entityType}"`,
      );
    }
    if (end2.target !== end1.entityType) {
      r.problem(
        [...path, "property2"],
        `"${assoc.property2}" targets "${end2.target}", but property1 belongs to "${end1.entityType}"`,
      );
    }
    if (end1.monoColumnIndex !== null && end2.monoColumnIndex !== null) {
      r.problem(path, "at most one end of an association can be mono-valued (target column index 128–137)");
    }
    associations[assocName] = {
      name: assocName,
      end1: { entityType: end1.entityType, property: end1.property, monoColumnIndex: end1.monoColumnIndex },
      end2: { entityType: end2.entityType, property: end2.property, monoColumnIndex: end2.monoColumnIndex },
    };
  }
  return associations;
}

/** One end of an association (`ref` is "EntityType.property"), or undefined when it names none. */
function associationEnd(
  assocName: string,
  key: "property1" | "property2",
  ref: string,
  entityTypes: Readonly<Record<string, EntityTypeDef>>,
  usedNavigation: Map<string, string>,
  r: Resolving,
): ResolvedEnd | undefined {
  const path = ["entityModel", "associations", assocName, key];
  const [typeName, propName, ...rest] = ref.split(".");
  const type = typeName === undefined ? undefined : entityTypes[typeName];
  if (type === undefined || propName === undefined || rest.length > 0) {
    r.problem(path, `"${ref}" is not "EntityType.property" of a known entity type`);
    return undefined;
  }
  const nav = type.navigations.find((n) => n.name === propName);
  if (nav === undefined) {
    r.problem(path, `"${propName}" is not a navigation property of "${typeName}"`);
    return undefined;
  }
  const other = usedNavigation.get(ref);
  if (other !== undefined) r.problem(path, `"${ref}" is already an end of association "${other}"`);
  usedNavigation.set(ref, assocName);
  return {
    entityType: type.name,
    property: nav.name,
    monoColumnIndex: nav.monoColumnIndex,
    target: nav.target,
  };
}
