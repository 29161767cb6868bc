/**
 * How LDAP values become CSV text (pure): binary forms of Active Directory's identifiers,
 * multi-valued cells, generalized time, and which attributes the schema says are single-valued.
 */
import { joinValues } from "../../core/multi-value.js";

export type BinaryForm = "guid" | "sid" | "base64";

const SID_ATTRIBUTES = new Set([
  "objectsid",
  "sidhistory",
  "securityidentifier",
  "tokengroups",
  "tokengroupsglobalanduniversal",
  "tokengroupsnogcacceptable",
]);

/** How a binary attribute is written: `*GUID` names as GUID text, SIDs as S-1-… text, others base64. */
export function binaryFormOf(attribute: string): BinaryForm {
  const name = attribute.toLowerCase().split(";")[0] ?? "";
  if (name.endsWith("guid")) return "guid";
  if (SID_ATTRIBUTES.has(name) || name.endsWith("sid")) return "sid";
  return "base64";
}

/** A binary value as text in `form`; a value of the wrong shape for a GUID or SID falls back to base64. */
export function binaryText(value: Buffer, form: BinaryForm): string {
  if (form === "guid" && value.length === 16) return guidText(value);
  if (form === "sid") {
    const sid = sidText(value);
    if (sid !== undefined) return sid;
  }
  return value.toString("base64");
}

/**
 * The standard text form of a 16-byte GUID as Active Directory stores it: the first three
 * groups little-endian, the last two in byte order (`objectGUID` bytes `33 22 11 00 55 44 77 66
 * 88 99 aa bb cc dd ee ff` → `00112233-4455-6677-8899-aabbccddeeff`).
 */
export function guidText(value: Buffer): string {
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = Buffer.from(value.subarray(from, to));
    return (reverse ? part.reverse() : part).toString("hex");
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

/** A binary security identifier as `S-1-5-21-…` text (MS-DTYP 2.4.2), or undefined when malformed. */
export function sidText(value: Buffer): string | undefined {
  if (value.length < 8) return undefined;
  const revision = value[0] as number;
  const count = value[1] as number;
  if (value.length !== 8 + 4 * count) return undefined;
  const authority = value.readUIntBE(2, 6);
  const authorityText = authority < 2 ** 32 ? String(authority) : `0x${value.subarray(2, 8).toString("hex")}`;
  let text = `S-${revision}-${authorityText}`;
  for (let i = 0; i < count; i++) text += `-${value.readUInt32LE(8 + 4 * i)}`;
  return text;
}

/**
 * A cell of the entries file: a single-valued attribute's value as is; a multi-valued one's
 * values joined by `|` with `\` and `|` escaped (see `joinValues`).
 */
export function attributeCell(values: readonly string[], singleValued: boolean): string {
  if (singleValued && values.length <= 1) return values[0] ?? "";
  return joinValues(values);
}

/** Milliseconds since 1970 of a generalized time (`20240131235959Z`, `20240131235959.0Z`, `…+0100`). */
export function parseGeneralizedTime(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)$/.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi ?? 0), Number(s ?? 0));
  if (frac !== undefined) ms += Math.floor(Number(`0.${frac}`) * 1000);
  if (zone !== undefined && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const offset = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5) || 0);
    ms -= sign * offset * 60_000;
  }
  return Number.isNaN(ms) ? undefined : ms;
}

/** A generalized time in UTC with a `.0` fraction, a form OpenLDAP and Active Directory both accept in filters. */
export function formatGeneralizedTime(ms: number): string {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}.0Z`;
}

/** What the directory's schema says of one attribute type. */
export interface AttributeTypeInfo {
  /** Every NAME of the type (`cn`, `commonName`). */
  readonly names: readonly string[];
  readonly singleValued: boolean;
}

/**
 * The attribute types that an LDAP schema defines (the `attributeTypes` values of the
 * subschema entry, RFC 4512), by each of their names in lower case.
 */
export function parseAttributeTypes(definitions: readonly string[]): Map<string, AttributeTypeInfo> {
  const types = new Map<string, AttributeTypeInfo>();
  for (const definition of definitions) {
    const list = /\sNAME\s+(\(\s*(?:'[^']*'\s*)+\)|'[^']*')/.exec(definition);
    if (list === null) continue;
    const names = [...(list[1] as string).matchAll(/'([^']*)'/g)].map((m) => m[1] as string);
    // With the quoted strings (names, descriptions) blanked, the keywords are what is left.
    const bare = definition.replace(/'(?:[^'\\]|\\.)*'/g, "''");
    const info: AttributeTypeInfo = { names, singleValued: /\sSINGLE-VALUE(\s|\))/.test(bare) };
    for (const name of names) types.set(name.toLowerCase(), info);
  }
  return types;
}

/** Wraps a filter in parentheses when it is a bare item (`objectClass=user`). */
export function parenthesized(filter: string): string {
  const trimmed = filter.trim();
  return trimmed.startsWith("(") ? trimmed : `(${trimmed})`;
}
