/**
 * Translation of a prepared file's row into a resource: its keys, its typed scalar values
 * (as the JSON text stored in UR_Resources.properties) and the content hash that complete
 * synchronization compares. Pure: conversion problems are collected, never thrown per row.
 */
import * as crypto from "node:crypto";
import { SyncupError } from "../errors.js";
import { compileConverter, INVALID, type Converter, type PropertyValue } from "./convert.js";
import type { EntityTypeMappingDef } from "./mapping.js";

export type UniqueKeys = readonly [string | null, string | null, string | null];

export interface TranslatedResource {
  readonly pk: string;
  readonly uks: UniqueKeys;
  /** JSON object of the non-null values, in mapping order. */
  readonly properties: string;
  readonly hash: string;
  /**
   * The hash of the file's cells this resource was translated from, with the mapping (see
   * `sourceHashOf`); null for a `merge`, whose values also come from the resource it updates.
   */
  readonly sourceHash: string | null;
}

/** A value that could not be converted, where it is and what was expected. */
export interface ConversionProblem {
  readonly file: string;
  readonly line: number;
  readonly column: string;
  /** 1-based position of the column in the file. */
  readonly columnIndex: number;
  readonly value: string;
  readonly expected: string;
}

/** `"AD_Entry.sorted.csv" line 12, column 8 (whenCreated): "2024-13-01" is not a date-time (…)`. */
export function formatConversionProblem(p: ConversionProblem): string {
  const value = p.value.length > 80 ? `${p.value.slice(0, 77)}…` : p.value;
  return `"${p.file}" line ${p.line}, column ${p.columnIndex} (${p.column}): ${JSON.stringify(value)} is not ${p.expected}`;
}

type OneShotHash = (algorithm: string, data: string, encoding: "base64") => string;
/** `crypto.hash` (Node.js 20.12 and later) is about twice as fast as `createHash` on short texts. */
const oneShot = (crypto as { hash?: OneShotHash }).hash;

/** SHA-1 of a text, in base64: the row hashes, which identify content, not secure anything. */
function sha1(text: string): string {
  return oneShot !== undefined
    ? oneShot("sha1", text, "base64")
    : crypto.createHash("sha1").update(text).digest("base64");
}

/** The hash of a resource's content: its unique keys and property values. */
export function contentHash(uks: UniqueKeys, properties: string): string {
  return sha1(
    `${uks[0] ?? "\u0000"}\u0001${uks[1] ?? "\u0000"}\u0001${uks[2] ?? "\u0000"}\u0001${properties}`,
  );
}

interface PropertySlot {
  readonly property: string;
  /** `"property":`, as JSON writes the name. */
  readonly name: string;
  readonly column: string;
  readonly index: number;
  readonly converter: Converter;
}

/** Changes whenever the same cells could translate to other values: part of every source hash. */
const TRANSLATION_VERSION = 1;

/** Translates the rows of one entity type mapping's prepared file, given the file's header. */
export class ResourceTranslator {
  /** The hash of the mapping's translation, which every source hash starts with. */
  private readonly fingerprint: string;
  private readonly pkIndex: number;
  private readonly ukIndexes: readonly number[];
  private readonly slots: readonly PropertySlot[];
  /**
   * Properties are written as JSON text value by value, which is what JSON.stringify of the
   * object would give, faster (at 1M rows, the object and its stringify cost about 1 s).
   */
  private readonly writesJson: boolean;

  constructor(
    mapping: EntityTypeMappingDef,
    header: readonly string[],
    private readonly file: string,
    connector = "?",
  ) {
    const indexOf = (column: string): number => {
      const index = header.indexOf(column);
      if (index < 0) throw new Error(`column "${column}" is not in the header of "${file}"`);
      return index;
    };
    this.pkIndex = indexOf(mapping.primaryKey);
    this.ukIndexes = mapping.uniqueKeys.map(indexOf);
    this.slots = mapping.properties.map((p) => {
      let converter: Converter;
      try {
        converter = compileConverter(p);
      } catch (error) {
        throw new SyncupError(
          "CONFIG_INVALID",
          `connectors.${connector}.entityTypeMappings.${mapping.name}.properties.${p.property}.format: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return {
        property: p.property,
        name: `${JSON.stringify(p.property)}:`,
        column: p.column,
        index: indexOf(p.column),
        converter,
      };
    });
    // JSON.stringify of an object writes integer-like names first, and a name once.
    const names = this.slots.map((s) => s.property);
    this.writesJson =
      new Set(names).size === names.length && !names.some((n) => /^(0|[1-9][0-9]{0,9})$/.test(n));
    this.fingerprint = sha1(
      JSON.stringify([TRANSLATION_VERSION, mapping.primaryKey, mapping.uniqueKeys, mapping.properties]),
    );
  }

  /**
   * The hash of a row's mapped cells (primary key, unique keys, properties, each with its
   * length) and of the mapping that translates them: equal source hashes translate to equal
   * resources, so complete synchronization skips translating a row whose source hash the
   * repository holds.
   */
  sourceHashOf(fields: readonly string[]): string {
    let cells = this.fingerprint;
    const add = (index: number) => {
      const text = fields[index] ?? "";
      cells += `\u0001${text.length}:${text}`;
    };
    add(this.pkIndex);
    for (const index of this.ukIndexes) add(index);
    for (const slot of this.slots) add(slot.index);
    return sha1(cells);
  }

  /** The primary key of a row. */
  pkOf(fields: readonly string[]): string {
    return fields[this.pkIndex] ?? "";
  }

  /** The primary key and unique keys of a row, as `translate` gives them (an empty unique key is null). */
  keysOf(fields: readonly string[]): readonly [string, string | null, string | null, string | null] {
    const uk = (i: number) => {
      const index = this.ukIndexes[i];
      const text = index === undefined ? "" : (fields[index] ?? "");
      return text === "" ? null : text;
    };
    return [this.pkOf(fields), uk(0), uk(1), uk(2)];
  }

  /** The whole row: an empty cell is null. Undefined when a value does not convert (added to `problems`). */
  translate(
    fields: readonly string[],
    line: number,
    problems: ConversionProblem[],
  ): TranslatedResource | undefined {
    return this.build(fields, line, problems, undefined);
  }

  /** `merge`: the row's non-empty cells over the resource's current keys and values. */
  merge(
    fields: readonly string[],
    line: number,
    problems: ConversionProblem[],
    base: { uks: UniqueKeys; properties: string },
  ): TranslatedResource | undefined {
    return this.build(fields, line, problems, base);
  }

  private build(
    fields: readonly string[],
    line: number,
    problems: ConversionProblem[],
    base: { uks: UniqueKeys; properties: string } | undefined,
  ): TranslatedResource | undefined {
    const pk = fields[this.pkIndex] ?? "";
    let ok = true;
    if (pk === "") {
      problems.push(this.problem(line, this.pkIndex, "(the primary key)", "", "a non-empty primary key"));
      ok = false;
    }
    const uks: [string | null, string | null, string | null] = [null, null, null];
    this.ukIndexes.forEach((index, i) => {
      const text = fields[index] ?? "";
      uks[i] = text !== "" ? text : base === undefined ? null : (base.uks[i] ?? null);
    });
    const previous =
      base === undefined ? undefined : (JSON.parse(base.properties) as Record<string, PropertyValue>);
    const values: Record<string, PropertyValue> = {};
    let json = "";
    const set = (slot: PropertySlot, value: PropertyValue) => {
      if (this.writesJson) json += `${json === "" ? "{" : ","}${slot.name}${JSON.stringify(value)}`;
      else values[slot.property] = value;
    };
    for (const slot of this.slots) {
      const text = fields[slot.index] ?? "";
      if (text === "") {
        const kept = previous?.[slot.property];
        if (kept !== undefined) set(slot, kept);
        continue;
      }
      const value = slot.converter.convert(text);
      if (value === INVALID) {
        problems.push(this.problem(line, slot.index, slot.column, text, slot.converter.expected));
        ok = false;
      } else if (!(Array.isArray(value) && value.length === 0)) {
        set(slot, value);
      }
    }
    if (!ok) return undefined;
    const properties = this.writesJson ? (json === "" ? "{}" : `${json}}`) : JSON.stringify(values);
    return {
      pk,
      uks,
      properties,
      hash: contentHash(uks, properties),
      sourceHash: base === undefined ? this.sourceHashOf(fields) : null,
    };
  }

  private problem(
    line: number,
    index: number,
    column: string,
    value: string,
    expected: string,
  ): ConversionProblem {
    const name = this.slots.find((s) => s.index === index)?.column ?? column;
    return { file: this.file, line, column: name, columnIndex: index + 1, value, expected };
  }
}
