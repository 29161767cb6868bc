import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileConverter, INVALID, type ScalarType } from "./convert.js";

const convert = (type: ScalarType, text: string, format: string | null = null, multi?: string) =>
  compileConverter({ type, format, multiValued: multi !== undefined, separator: multi ?? "|" }).convert(text);

describe("compileConverter", () => {
  it.each([
    ["string", " as is ", null, " as is "],
    ["int32", "42", null, 42],
    ["int32", " -7 ", null, -7],
    ["int32", "+2147483647", null, 2147483647],
    ["int32", "-2147483648", null, -2147483648],
    ["int32", "2147483648", null, INVALID],
    ["int32", "1.5", null, INVALID],
    ["int32", "12abc", null, INVALID],
    ["int64", "9007199254740991", null, 9007199254740991],
    ["int64", "9007199254740993", null, "9007199254740993"],
    ["int64", "-9223372036854775808", null, "-9223372036854775808"],
    ["int64", "9223372036854775808", null, INVALID],
    ["double", "3.25", null, 3.25],
    ["double", "-1e-3", null, -0.001],
    ["double", ".5", null, 0.5],
    ["double", "NaN", null, INVALID],
    ["double", "1e999", null, INVALID],
    ["double", "1,5", null, INVALID],
    ["bool", "TRUE", null, true],
    ["bool", "0", null, false],
    ["bool", "yes", null, true],
    ["bool", "No", null, false],
    ["bool", "Y", null, INVALID],
    ["bool", "y", "Y/N", true],
    ["bool", "N", "Y/N", false],
    ["bool", "true", "Y/N", INVALID],
    ["date-time", "2024-01-31", null, "2024-01-31T00:00:00.000Z"],
    ["date-time", "2024-01-31T12:30:45Z", null, "2024-01-31T12:30:45.000Z"],
    ["date-time", "2024-01-31T12:30:45.123+02:00", null, "2024-01-31T10:30:45.123Z"],
    ["date-time", "2024-02-30", null, INVALID],
    ["date-time", "2024-01-31T24:00:00Z", null, INVALID],
    ["date-time", "31/01/2024", null, INVALID],
    ["date-time", "31/01/2024", "dd/MM/yyyy", "2024-01-31T00:00:00.000Z"],
    ["date-time", "29/02/2023", "dd/MM/yyyy", INVALID],
    ["date-time", "20191111141400.0Z", "yyyyMMddHHmmss.0Z", "2019-11-11T14:14:00.000Z"],
    ["date-time", "20191111141400", "yyyyMMddHHmmss", "2019-11-11T14:14:00.000Z"],
    ["date-time", "2019111114140", "yyyyMMddHHmmss", INVALID],
    ["date-time", "20240131-0930.250", "yyyyMMdd-HHmm.fff", "2024-01-31T09:30:00.250Z"],
    ["date-time", "133500000000000000", "filetime", "2024-01-17T21:20:00.000Z"],
    ["date-time", "1700000000", "unix", "2023-11-14T22:13:20.000Z"],
    ["guid", "{F6266788-94BE-4CCD-ACAF-31E80FEF5218}", null, "f6266788-94be-4ccd-acaf-31e80fef5218"],
    ["guid", "f626678894be4ccdacaf31e80fef5218", null, "f6266788-94be-4ccd-acaf-31e80fef5218"],
    ["guid", "f6266788-94be-4ccd-acaf-31e80fef521", null, INVALID],
    ["guid", "iGcm9r6UzUysrzHoD+9SGA==", "base64", "f6266788-94be-4ccd-acaf-31e80fef5218"],
    ["guid", "AAAA", "base64", INVALID],
    ["binary", "aGVsbG8=", null, "aGVsbG8="],
    ["binary", "aGVsbG8", null, INVALID],
    ["binary", "68656c6c6f", "hex", "aGVsbG8="],
    ["binary", "0x68656C6C6F", "hex", "aGVsbG8="],
    ["binary", "686", "hex", INVALID],
  ] as const)("%s %j (format %s) → %j", (type, text, format, expected) => {
    expect(convert(type, text, format)).toEqual(expected);
  });

  it("splits multi-valued properties on the separator, dropping empty parts", () => {
    expect(convert("string", "a|b||c", null, "|")).toEqual(["a", "b", "c"]);
    expect(convert("int32", "1;2", null, ";")).toEqual([1, 2]);
    expect(convert("int32", "1;x", null, ";")).toBe(INVALID);
  });

  it("rejects formats that do not fit the type", () => {
    expect(() =>
      compileConverter({ type: "bool", format: "yes", multiValued: false, separator: "|" }),
    ).toThrow(/Y\/N/);
    expect(() =>
      compileConverter({ type: "binary", format: "b32", multiValued: false, separator: "|" }),
    ).toThrow(/hex/);
    expect(() =>
      compileConverter({ type: "date-time", format: "HH:mm", multiValued: false, separator: "|" }),
    ).toThrow(/yyyy/);
    expect(() =>
      compileConverter({ type: "int32", format: "x", multiValued: false, separator: "|" }),
    ).toThrow(/no format/);
  });

  it("describes what it expects", () => {
    const c = compileConverter({
      type: "date-time",
      format: "dd/MM/yyyy",
      multiValued: false,
      separator: "|",
    });
    expect(c.expected).toBe('date-time (format "dd/MM/yyyy")');
  });
});

describe("date-time patterns", () => {
  /** What `Date` makes of the fields: ISO UTC, or INVALID when a field is out of range or the year is outside 1–9999. */
  function viaDate(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number) {
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return INVALID;
    const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
    date.setUTCFullYear(y);
    if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || y < 1 || y > 9999) return INVALID;
    return date.toISOString();
  }

  it("write the same text as Date for any fields, valid or not", () => {
    const digits = (n: number, width: number) => String(n).padStart(width, "0");
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 9999 }),
          fc.constantFrom(0, 1, 4, 100, 400, 1900, 2000, 2024, 9999),
        ),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 999 }),
        (y, mo, d, h, mi, s, ms) => {
          const text = `${digits(y, 4)}${digits(mo, 2)}${digits(d, 2)}${digits(h, 2)}${digits(mi, 2)}${digits(s, 2)}.${digits(ms, 3)}`;
          expect(convert("date-time", text, "yyyyMMddHHmmss.fff")).toBe(viaDate(y, mo, d, h, mi, s, ms));
          const iso = `${digits(y, 4)}-${digits(mo, 2)}-${digits(d, 2)}T${digits(h, 2)}:${digits(mi, 2)}:${digits(s, 2)}.${digits(ms, 3)}Z`;
          expect(convert("date-time", iso)).toBe(viaDate(y, mo, d, h, mi, s, ms));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
