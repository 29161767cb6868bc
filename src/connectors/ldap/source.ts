/** The LDAP side of an object export: entries, changed entries, DNs, one entry (see ObjectSource). */
import type { ExportedObject, ObjectSource } from "../shared/object-export.js";
import type { Directory, SearchRequest } from "./directory.js";
import { entryObject, type EntryPlan, type EntryValues } from "./entry.js";
import type { LdapSettings } from "./schema.js";
import { formatGeneralizedTime, parenthesized, parseGeneralizedTime } from "./values.js";

/** Escapes a value for an LDAP filter (RFC 4515). */
function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function ldapSource(
  directory: Directory,
  settings: LdapSettings,
  plan: EntryPlan,
  binary: readonly string[],
): ObjectSource {
  const filter = parenthesized(settings.filter);
  const attributes = [
    ...new Set([
      ...plan.columns.map((c) => c.attribute),
      ...plan.links.map((l) => l.attribute),
      plan.timestampAttribute,
    ]),
  ];
  const request = (f: string): SearchRequest => ({ filter: f, attributes, binary });
  const objects = (entries: EntryValues[]): ExportedObject[] => entries.map((e) => entryObject(e, plan));

  async function* search(f: string): AsyncGenerator<ExportedObject[]> {
    for (const base of settings.baseDNs) {
      for await (const page of directory.pages(base, request(f))) yield objects(page);
    }
  }

  return {
    all: () => search(filter),
    changedSince: (watermark) =>
      search(`(&${filter}(${plan.timestampAttribute}>=${escapeFilterValue(watermark)}))`),
    async *keys() {
      for (const base of settings.baseDNs) {
        for await (const page of directory.pages(base, { filter, attributes: ["1.1"], binary: [] })) {
          yield page.map((e) => e.dn);
        }
      }
    },
    async fetch(dn) {
      const entry = await directory.entry(dn, request(filter));
      return entry === undefined ? undefined : entryObject(entry, plan);
    },
    parseWatermark: parseGeneralizedTime,
    formatWatermark: formatGeneralizedTime,
  };
}
