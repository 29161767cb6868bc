import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileConverter } from "./convert.js";
import type { EntityTypeMappingDef } from "./mapping.js";
import { formatConversionProblem, ResourceTranslator, type ConversionProblem } from "./translate.js";

const mapping: EntityTypeMappingDef = {
  kind: "entity",
  name: "AD_Entry",
  table: "ad_entries",
  primaryKey: "dn",
  uniqueKeys: ["objectGUID"],
  properties: [
    { property: "dn", column: "dn", type: "string", multiValued: false, format: null, separator: "|" },
    {
      property: "objectGUID",
      column: "objectGUID",
      type: "guid",
      multiValued: false,
      format: null,
      separator: "|",
    },
    {
      property: "uac",
      column: "userAccountControl",
      type: "int32",
      multiValued: false,
      format: null,
      separator: "|",
    },
    {
      property: "created",
      column: "whenCreated",
      type: "date-time",
      multiValued: false,
      format: "yyyyMMddHHmmss.0Z",
      separator: "|",
    },
    {
      property: "mails",
      column: "proxyAddresses",
      type: "string",
      multiValued: true,
      format: null,
      separator: "|",
    },
  ],
  columns: ["dn", "objectGUID", "userAccountControl", "whenCreated", "proxyAddresses"],
  thresholds: {},
};
const header = mapping.columns;
const guid = "f6266788-94be-4ccd-acaf-31e80fef5218";

describe("ResourceTranslator", () => {
  const translator = new ResourceTranslator(mapping, header, "AD_Entry.sorted.csv", "AD");

  it("translates a row into keys, JSON values in mapping order and a hash", () => {
    const problems: ConversionProblem[] = [];
    const r = translator.translate(
      ["CN=a", guid.toUpperCase(), "512", "20191111141400.0Z", "a@x|b@x"],
      2,
      problems,
    );
    expect(problems).toEqual([]);
    expect(r?.pk).toBe("CN=a");
    expect(r?.uks).toEqual(["F6266788-94BE-4CCD-ACAF-31E80FEF5218", null, null]);
    expect(r?.properties).toBe(
      `{"dn":"CN=a","objectGUID":"${guid}","uac":512,"created":"2019-11-11T14:14:00.000Z","mails":["a@x","b@x"]}`,
    );
    expect(r?.hash).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });

  it("leaves empty cells out (null) and hashes equal content equally", () => {
    const a = translator.translate(["CN=a", "", "", "", ""], 2, []);
    const b = translator.translate(["CN=a", "", "", "", ""], 9, []);
    expect(a?.properties).toBe('{"dn":"CN=a"}');
    expect(a?.uks).toEqual([null, null, null]);
    expect(a?.hash).toBe(b?.hash);
    expect(translator.translate(["CN=a", "", "1", "", ""], 2, [])?.hash).not.toBe(a?.hash);
  });

  it("hashes a row's source cells with the mapping: same cells and mapping, same source hash", () => {
    const row = ["CN=a", guid, "512", "20191111141400.0Z", "a@x|b@x"];
    const source = translator.sourceHashOf(row);
    expect(translator.translate(row, 2, [])?.sourceHash).toBe(source);
    expect(translator.sourceHashOf([...row])).toBe(source);
    // Any mapped cell, including a unique key that converts to the same value.
    expect(translator.sourceHashOf(["CN=a", guid.toUpperCase(), ...row.slice(2)])).not.toBe(source);
    expect(translator.sourceHashOf(["CN=a", guid, "513", ...row.slice(3)])).not.toBe(source);
    // Cells are delimited by their lengths, not by a character a cell could hold.
    expect(translator.sourceHashOf(["CN=a", "", "\u00011:5", "", ""])).not.toBe(
      translator.sourceHashOf(["CN=a", "\u00011:5", "", "", ""]),
    );
    // An edited mapping translates the same cells otherwise: another source hash.
    const reformatted: EntityTypeMappingDef = {
      ...mapping,
      properties: mapping.properties.map((p) => (p.property === "created" ? { ...p, format: null } : p)),
    };
    expect(new ResourceTranslator(reformatted, header, "AD_Entry.sorted.csv").sourceHashOf(row)).not.toBe(
      source,
    );
    // A merge's values come partly from the resource it updates: no source hash.
    const base = translator.translate(row, 2, []);
    expect(base).toBeDefined();
    expect(translator.merge(["CN=a", "", "1", "", ""], 3, [], base!)?.sourceHash).toBeNull();
  });

  it("reports every value that does not convert, with file, line, column and expected type", () => {
    const problems: ConversionProblem[] = [];
    expect(translator.translate(["CN=a", "not-a-guid", "5x", "2019", ""], 12, problems)).toBeUndefined();
    expect(problems).toEqual([
      {
        file: "AD_Entry.sorted.csv",
        line: 12,
        column: "objectGUID",
        columnIndex: 2,
        value: "not-a-guid",
        expected: "guid (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
      },
      expect.objectContaining({ column: "userAccountControl", columnIndex: 3, value: "5x" }),
      expect.objectContaining({
        column: "whenCreated",
        columnIndex: 4,
        expected: 'date-time (format "yyyyMMddHHmmss.0Z")',
      }),
    ]);
    expect(formatConversionProblem(problems[1] as ConversionProblem)).toBe(
      '"AD_Entry.sorted.csv" line 12, column 3 (userAccountControl): "5x" is not int32 (a whole number from -2147483648 to 2147483647)',
    );
  });

  it("merges the non-empty cells over the current values", () => {
    const base = translator.translate(["CN=a", guid, "512", "20191111141400.0Z", "a@x"], 2, []);
    if (base === undefined) throw new Error("base");
    const merged = translator.merge(["CN=a", "", "514", "", ""], 3, [], base);
    expect(merged?.uks).toEqual([guid, null, null]);
    expect(JSON.parse(merged?.properties ?? "")).toEqual({
      dn: "CN=a",
      objectGUID: guid,
      uac: 514,
      created: "2019-11-11T14:14:00.000Z",
      mails: ["a@x"],
    });
    expect(translator.merge(["CN=a", "", "", "", ""], 3, [], base)?.hash).toBe(base.hash);
  });

  it("refuses a format that does not fit the property's type, naming the configuration path", () => {
    const bad: EntityTypeMappingDef = {
      ...mapping,
      properties: [
        {
          property: "uac",
          column: "userAccountControl",
          type: "bool",
          multiValued: false,
          format: "on",
          separator: "|",
        },
      ],
    };
    expect(() => new ResourceTranslator(bad, header, "f", "AD")).toThrow(
      /connectors\.AD\.entityTypeMappings\.AD_Entry\.properties\.uac\.format/,
    );
  });
});

describe("ResourceTranslator's JSON", () => {
  it("is JSON.stringify of the values' object, whatever the names and cells", () => {
    // Names as the configuration allows them, and integer-like ones, which an object orders first.
    const name = fc.oneof(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,5}$/),
      fc.constantFrom("0", "7", "10", "01", "-1", "4294967294", "4294967295"),
    );
    const type = fc.constantFrom<"string" | "int32" | "bool" | "double">("string", "int32", "bool", "double");
    const cell = fc.oneof(fc.constantFrom("", "1", "-2", "true", 'x"y', "a|b", "1.5", "\u0001"), fc.string());
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ property: name, type, multiValued: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
          selector: (p) => p.property,
        }),
        fc.array(cell, { minLength: 7, maxLength: 7 }),
        (props, cells) => {
          const columns = ["key", ...props.map((_, i) => `c${i}`)];
          const m: EntityTypeMappingDef = {
            ...mapping,
            primaryKey: "key",
            uniqueKeys: [],
            properties: props.map((p, i) => ({ ...p, column: `c${i}`, format: null, separator: "|" })),
            columns,
          };
          const fields = ["k", ...cells.slice(0, props.length)];
          const problems: ConversionProblem[] = [];
          const r = new ResourceTranslator(m, columns, "T.sorted.csv").translate(fields, 2, problems);
          if (r === undefined) return;
          // The object the converted values make, property by property in mapping order.
          const values: Record<string, unknown> = {};
          for (const [i, p] of m.properties.entries()) {
            const text = fields[i + 1] ?? "";
            const value = text === "" ? undefined : compileConverter(p).convert(text);
            if (value !== undefined && !(Array.isArray(value) && value.length === 0))
              values[p.property] = value;
          }
          expect(r.properties).toBe(JSON.stringify(values));
        },
      ),
      { numRuns: 500 },
    );
  });
});
