/**
 * A connector's mappings as the resolved configuration holds them: which column of a table
 * becomes which property, the keys, the prepared files' columns, the thresholds set at the
 * mapping. Plain data that core's translation, key checks and key normalization work on;
 * `config/config.ts` builds them (and re-exports these types) from `syncup.yaml`.
 */
import type { ScalarType } from "./convert.js";
import type { ThresholdName } from "./thresholds.js";

export interface PropertyMappingDef {
  readonly property: string;
  readonly column: string;
  readonly type: ScalarType;
  readonly multiValued: boolean;
  readonly format: string | null;
  readonly separator: string;
}

export interface EntityTypeMappingDef {
  readonly kind: "entity";
  /** The entity type's name; also the base name of the prepared files. */
  readonly name: string;
  readonly table: string;
  readonly primaryKey: string;
  readonly uniqueKeys: readonly string[];
  readonly properties: readonly PropertyMappingDef[];
  /** Columns of the prepared files, primary key first. */
  readonly columns: readonly string[];
  readonly thresholds: Readonly<Partial<Record<ThresholdName, number>>>;
}

export interface AssociationMappingDef {
  readonly kind: "association";
  /** The association's name; also the base name of the prepared files. */
  readonly name: string;
  readonly table: string;
  readonly column1: string;
  readonly column2: string;
  /** Column of the end's entity type mapping through which the end resolves. */
  readonly key1: string;
  readonly key2: string;
  readonly end1EntityType: string;
  readonly end2EntityType: string;
  /** Columns of the prepared files: column1, column2. */
  readonly columns: readonly string[];
  readonly thresholds: Readonly<Partial<Record<ThresholdName, number>>>;
}

export type MappingDef = EntityTypeMappingDef | AssociationMappingDef;
