/**
 * Typed values from the text of a prepared file's cell, per the property's type and format.
 * Nothing is coerced silently: a value that does not fit is INVALID, and the caller reports it
 * with its file, line and column. How each type is stored (in the JSON of UR_Resources):
 *
 * | type | accepted | stored |
 * | --- | --- | --- |
 * | string | anything | as is |
 * | int32, int64 | `[+-]digits` in range | number (int64 beyond ±2^53: decimal string) |
 * | double | decimal or exponent notation, finite | number |
 * | bool | true/false, 1/0, yes/no (any case), or a `format` pair such as `Y/N` | true/false |
 * | date-time | see `convert-date.ts` | ISO 8601 UTC string |
 * | guid | 8-4-4-4-12 or 32 hex digits, braces allowed; `format: base64` for AD objectGUID bytes | lowercase 8-4-4-4-12 |
 * | binary | base64 (default) or `format: hex` | base64 |
 *
 * Non-string values are trimmed of surrounding spaces first. A multi-valued property is split
 * on its separator; empty parts are dropped, each part converted.
 */
import { splitValues } from "./multi-value.js";
import { compileDateParser, describeDateFormat } from "./convert-date.js";

/** The types a scalar property may have in `syncup.yaml`. */
export const SCALAR_TYPES = [
  "string",
  "int32",
  "int64",
  "bool",
  "date-time",
  "guid",
  "double",
  "binary",
] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

export type ScalarValue = string | number | boolean;
export type PropertyValue = ScalarValue | readonly ScalarValue[];

export const INVALID: unique symbol = Symbol("invalid");

export interface Converter {
  /** What the value should look like, for messages. */
  readonly expected: string;
  /** The typed value of a non-empty cell, or INVALID. */
  convert(text: string): PropertyValue | typeof INVALID;
}

export interface ConverterSpec {
  readonly type: ScalarType;
  readonly format: string | null;
  readonly multiValued: boolean;
  readonly separator: string;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER = /^[+-]?\d+$/;
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const GUID_DASHED = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const GUID_PLAIN = /^[0-9a-fA-F]{32}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:0x)?((?:[0-9a-fA-F]{2})*)$/;

/** Compiles the converter of one property; throws an Error naming what is wrong with `format`. */
export function compileConverter(spec: ConverterSpec): Converter {
  const single = compileScalar(spec.type, spec.format);
  if (!spec.multiValued) return single;
  const separator = spec.separator;
  if (separator === "") throw new Error("the separator of a multi-valued property cannot be empty");
  return {
    expected: `${single.expected}, several separated by "${separator}"`,
    convert(text) {
      const values: ScalarValue[] = [];
      for (const part of splitValues(text, separator)) {
        if (part === "") continue;
        const value = single.convert(part);
        if (value === INVALID) return INVALID;
        values.push(value as ScalarValue);
      }
      return values;
    },
  };
}

function compileScalar(type: ScalarType, format: string | null): Converter {
  const noFormat = () => {
    if (format !== null) throw new Error(`type ${type} takes no format (got "${format}")`);
  };
  switch (type) {
    case "string":
      noFormat();
      return { expected: "text", convert: (text) => text };
    case "int32":
      noFormat();
      return {
        expected: `int32 (a whole number from ${INT32_MIN} to ${INT32_MAX})`,
        convert(text) {
          const t = text.trim();
          if (!INTEGER.test(t)) return INVALID;
          const n = Number(t);
          return n >= INT32_MIN && n <= INT32_MAX ? n + 0 : INVALID;
        },
      };
    case "int64":
      noFormat();
      return {
        expected: "int64 (a whole number from -9223372036854775808 to 9223372036854775807)",
        convert(text) {
          const t = text.trim();
          if (!INTEGER.test(t)) return INVALID;
          const n = BigInt(t);
          if (n < INT64_MIN || n > INT64_MAX) return INVALID;
          return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(n)
            : n.toString();
        },
      };
    case "double":
      noFormat();
      return {
        expected: "double (a decimal number such as 3.14 or 1e-5)",
        convert(text) {
          const t = text.trim();
          if (!DOUBLE.test(t)) return INVALID;
          const n = Number(t);
          return Number.isFinite(n) ? n + 0 : INVALID;
        },
      };
    case "bool":
      return compileBool(format);
    case "date-time": {
      const parse = compileDateParser(format);
      return {
        expected: `date-time (${describeDateFormat(format)})`,
        convert: (text) => parse(text.trim()) ?? INVALID,
      };
    }
    case "guid":
      return compileGuid(format);
    case "binary":
      return compileBinary(format);
  }
}

function compileBool(format: string | null): Converter {
  if (format === null) {
    const truthy = new Set(["true", "1", "yes"]);
    const falsy = new Set(["false", "0", "no"]);
    return {
      expected: "bool (true/false, 1/0 or yes/no)",
      convert(text) {
        const t = text.trim().toLowerCase();
        return truthy.has(t) ? true : falsy.has(t) ? false : INVALID;
      },
    };
  }
  const parts = format.split("/");
  const [yes, no] = parts.map((p) => p.trim().toLowerCase());
  if (parts.length !== 2 || yes === undefined || no === undefined || yes === "" || no === "" || yes === no) {
    throw new Error(`a bool format is "<true>/<false>", such as "Y/N" (got "${format}")`);
  }
  return {
    expected: `bool (${format})`,
    convert(text) {
      const t = text.trim().toLowerCase();
      return t === yes ? true : t === no ? false : INVALID;
    },
  };
}

function compileGuid(format: string | null): Converter {
  if (format === "base64") {
    return {
      expected: "guid (16 bytes in base64, AD objectGUID byte order)",
      convert(text) {
        const t = text.trim();
        if (!BASE64.test(t)) return INVALID;
        const bytes = Buffer.from(t, "base64");
        return bytes.length === 16 ? guidFromAdBytes(bytes) : INVALID;
      },
    };
  }
  if (format !== null) throw new Error(`a guid format is "base64" or none (got "${format}")`);
  return {
    expected: "guid (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
    convert(text) {
      let t = text.trim();
      if (t.startsWith("{") && t.endsWith("}")) t = t.slice(1, -1);
      if (GUID_DASHED.test(t)) return t.toLowerCase();
      if (GUID_PLAIN.test(t)) {
        const h = t.toLowerCase();
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      }
      return INVALID;
    },
  };
}

/** AD stores the first three groups of a GUID little-endian. */
function guidFromAdBytes(b: Buffer): string {
  const hex = (i: number) => (b[i] as number).toString(16).padStart(2, "0");
  const group = (indexes: number[]) => indexes.map(hex).join("");
  return [
    group([3, 2, 1, 0]),
    group([5, 4]),
    group([7, 6]),
    group([8, 9]),
    group([10, 11, 12, 13, 14, 15]),
  ].join("-");
}

function compileBinary(format: string | null): Converter {
  if (format === "hex") {
    return {
      expected: "binary (hexadecimal digits, an even number of them)",
      convert(text) {
        const m = HEX.exec(text.trim());
        return m === null ? INVALID : Buffer.from(m[1] as string, "hex").toString("base64");
      },
    };
  }
  if (format !== null && format !== "base64")
    throw new Error(`a binary format is "base64" or "hex" (got "${format}")`);
  return {
    expected: "binary (base64)",
    convert(text) {
      const t = text.trim();
      return BASE64.test(t) ? t : INVALID;
    },
  };
}
