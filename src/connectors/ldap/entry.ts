/**
 * From an LDAP search entry to the exported object (pure): the `dn` key, one cell per
 * attribute, the values of each link attribute, the change time. Also the bookkeeping of
 * Active Directory's ranged attribute retrieval (`member;range=0-1499`).
 */
import type { ExportedObject } from "../shared/object-export.js";
import { attributeCell, binaryText, type BinaryForm } from "./values.js";

export type RawValue = string | Buffer;

/** How each column and link of the export is read from an entry. */
export interface EntryPlan {
  readonly columns: readonly {
    readonly attribute: string;
    readonly singleValued: boolean;
    /** Set for attributes read as bytes. */
    readonly binary: BinaryForm | undefined;
  }[];
  readonly links: readonly { readonly table: string; readonly attribute: string }[];
  readonly timestampAttribute: string;
}

/** The values of an entry by attribute name in lower case, the ranged pieces merged. */
export interface EntryValues {
  readonly dn: string;
  readonly values: Map<string, RawValue[]>;
  /** Ranged attributes with more values to fetch: `attribute;range=<next>-*`. */
  readonly pending: { attribute: string; next: number }[];
}

/** `member;range=0-1499` → { name: "member", low: 0, high: 1499 }; `high` undefined for `*`. */
export function parseRangeOption(
  description: string,
): { name: string; low: number; high: number | undefined } | undefined {
  const m = /^(.*);range=(\d+)-(\d+|\*)$/i.exec(description);
  if (m === null) return undefined;
  return { name: m[1] as string, low: Number(m[2]), high: m[3] === "*" ? undefined : Number(m[3]) };
}

function asValues(value: unknown): RawValue[] {
  if (Array.isArray(value))
    return value.filter((v): v is RawValue => typeof v === "string" || Buffer.isBuffer(v));
  if (typeof value === "string" || Buffer.isBuffer(value)) return [value];
  return [];
}

/** Reads an ldapts entry (`{ dn, [attribute]: value(s) }`). */
export function readEntry(entry: Readonly<Record<string, unknown>>): EntryValues {
  const values = new Map<string, RawValue[]>();
  const pending: { attribute: string; next: number }[] = [];
  for (const [description, value] of Object.entries(entry)) {
    if (description === "dn") continue;
    const range = parseRangeOption(description);
    const name = (range?.name ?? description).toLowerCase();
    const list = values.get(name) ?? [];
    list.push(...asValues(value));
    values.set(name, list);
    if (range?.high !== undefined) pending.push({ attribute: range.name, next: range.high + 1 });
  }
  return { dn: typeof entry["dn"] === "string" ? entry["dn"] : "", values, pending };
}

/** Adds the values of one further range (an entry fetched for `attribute;range=<n>-*`); returns the next start, if any. */
export function addRange(
  target: EntryValues,
  entry: Readonly<Record<string, unknown>>,
  attribute: string,
): number | undefined {
  const lower = attribute.toLowerCase();
  for (const [description, value] of Object.entries(entry)) {
    const range = parseRangeOption(description);
    if (range === undefined || range.name.toLowerCase() !== lower) continue;
    const list = target.values.get(lower) ?? [];
    list.push(...asValues(value));
    target.values.set(lower, list);
    return range.high === undefined ? undefined : range.high + 1;
  }
  return undefined;
}

/** A value as text: bytes of a binary attribute in its form; bytes elsewhere (not UTF-8) as base64. */
function text(value: RawValue, binary: BinaryForm | undefined): string {
  if (binary === undefined) return typeof value === "string" ? value : value.toString("base64");
  // A binary value that arrived as text was valid UTF-8: its bytes are the text's.
  return binaryText(typeof value === "string" ? Buffer.from(value, "utf8") : value, binary);
}

/** The exported object of an entry. */
export function entryObject(entry: EntryValues, plan: EntryPlan): ExportedObject {
  const row = plan.columns.map((column) => {
    const values = entry.values.get(column.attribute.toLowerCase()) ?? [];
    return attributeCell(
      values.map((v) => text(v, column.binary)),
      column.singleValued,
    );
  });
  const links: Record<string, string[]> = {};
  for (const link of plan.links) {
    links[link.table] = (entry.values.get(link.attribute.toLowerCase()) ?? []).map((v) => text(v, undefined));
  }
  const stamp = entry.values.get(plan.timestampAttribute.toLowerCase())?.[0];
  return { key: entry.dn, row, links, changedAt: typeof stamp === "string" ? stamp : undefined };
}
