/**
 * Keys are compared in their normalized form when the key's column is mapped to a typed
 * property: a GUID written `{3F2504E0-4F89-11D3-9A0C-0305E82C3301}` in one file and
 * `3f2504e0-4f89-11d3-9a0c-0305e82c3301` in another is one key, and so are `007` and `7` of an
 * integer, or two spellings of one date-time. Prepare writes keys in that form (primary and
 * unique keys of entity files, both ends of association files, the end through the key of the
 * entity type it resolves in), so that sorting, duplicates, the diff against `previous/` and
 * the lookups of the synchronization all see one spelling. A key whose column is a string
 * property, is not mapped to a property, or does not convert, is kept as it is.
 */
import { compileConverter, INVALID } from "./convert.js";
import type { EntityTypeMappingDef, MappingDef } from "./mapping.js";

/** Rewrites a key's text into its normalized form. */
export type KeyNormalizer = (text: string) => string;

/** The normalizer of `column` as a key of `mapping`, or undefined when its text is compared as it is. */
export function keyNormalizer(mapping: EntityTypeMappingDef, column: string): KeyNormalizer | undefined {
  const property = mapping.properties.find(
    (p) => p.column === column && p.type !== "string" && !p.multiValued,
  );
  if (property === undefined) return undefined;
  const converter = compileConverter(property);
  return (text) => {
    if (text === "") return text;
    const value = converter.convert(text);
    return value === INVALID || Array.isArray(value) ? text : String(value);
  };
}

/**
 * The normalizers of a mapping's prepared columns (`mapping.columns`, in order): its keys'
 * (undefined for the other columns and the keys compared as they are).
 */
export function keyNormalizers(
  connector: { readonly entityTypeMappings: readonly EntityTypeMappingDef[] },
  mapping: MappingDef,
): (KeyNormalizer | undefined)[] {
  if (mapping.kind === "entity") {
    const keys = new Set([mapping.primaryKey, ...mapping.uniqueKeys]);
    return mapping.columns.map((c) => (keys.has(c) ? keyNormalizer(mapping, c) : undefined));
  }
  const end = (type: string, key: string) => {
    const entity = connector.entityTypeMappings.find((e) => e.name === type);
    return entity === undefined ? undefined : keyNormalizer(entity, key);
  };
  return [end(mapping.end1EntityType, mapping.key1), end(mapping.end2EntityType, mapping.key2)];
}
