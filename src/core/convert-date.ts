/**
 * Date-time parsing for the `date-time` property type. Values are stored as ISO 8601 UTC
 * (`2024-01-31T12:00:00.000Z`). A value without a time zone is taken as UTC.
 *
 * Formats: `iso` (default), `filetime` (Windows FILETIME: 100 ns ticks since 1601, as AD's
 * `lastLogonTimestamp`), `unix` (seconds since 1970), or a pattern of the tokens `yyyy MM dd
 * HH mm ss` and `f`… (fraction of a second, one letter per digit), every other character
 * literal: `yyyyMMddHHmmss`, `yyyyMMddHHmmss.0Z` (AD generalized time), `dd/MM/yyyy`.
 */

/** Parses one value; undefined when it does not match. */
export type DateParser = (text: string) => string | undefined;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

const FILETIME_EPOCH_OFFSET_MS = 11_644_473_600_000;

/** Compiles `format` (null = ISO 8601); throws an Error whose message explains a bad pattern. */
export function compileDateParser(format: string | null): DateParser {
  if (format === null || format.toLowerCase() === "iso") return parseIso;
  if (format === "filetime") {
    return (text) => {
      if (!/^\d{1,19}$/.test(text)) return undefined;
      const ms = Number(BigInt(text) / 10_000n) - FILETIME_EPOCH_OFFSET_MS;
      return toIso(ms);
    };
  }
  if (format === "unix") {
    return (text) =>
      /^-?\d{1,12}(\.\d{1,3})?$/.test(text) ? toIso(Math.round(Number(text) * 1000)) : undefined;
  }
  return compilePattern(format);
}

/** A short description of what the format expects, for messages. */
export function describeDateFormat(format: string | null): string {
  if (format === null || format.toLowerCase() === "iso") return "ISO 8601, e.g. 2024-01-31T12:00:00Z";
  if (format === "filetime") return "Windows FILETIME ticks";
  if (format === "unix") return "seconds since 1970-01-01";
  return `format "${format}"`;
}

function parseIso(text: string): string | undefined {
  const m = ISO.exec(text);
  if (m === null) return undefined;
  const offset = zoneOffsetMinutes(m[8]);
  if (offset === undefined) return undefined;
  return build(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
    fractionMs(m[7]),
    offset,
  );
}

type Field = "year" | "month" | "day" | "hour" | "minute" | "second" | "fraction";

const TOKENS: readonly { token: string; field: Field }[] = [
  { token: "yyyy", field: "year" },
  { token: "MM", field: "month" },
  { token: "dd", field: "day" },
  { token: "HH", field: "hour" },
  { token: "mm", field: "minute" },
  { token: "ss", field: "second" },
];

function compilePattern(format: string): DateParser {
  let source = "^";
  const fields: Field[] = [];
  for (let i = 0; i < format.length;) {
    const token = TOKENS.find((t) => format.startsWith(t.token, i));
    if (token !== undefined) {
      if (fields.includes(token.field))
        throw new Error(`"${token.token}" appears twice in date-time format "${format}"`);
      source += `(\\d{${token.token.length}})`;
      fields.push(token.field);
      i += token.token.length;
    } else if (format[i] === "f") {
      let n = 0;
      while (format[i + n] === "f") n++;
      source += `(\\d{${n}})`;
      fields.push("fraction");
      i += n;
    } else {
      source += (format[i] as string).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      i++;
    }
  }
  for (const required of ["year", "month", "day"] as const) {
    if (!fields.includes(required)) {
      throw new Error(
        `date-time format "${format}" lacks ${required === "year" ? "yyyy" : required === "month" ? "MM" : "dd"}`,
      );
    }
  }
  const regex = new RegExp(`${source}$`);
  return (text) => {
    const m = regex.exec(text);
    if (m === null) return undefined;
    const value: Record<Field, number> = {
      year: 0,
      month: 1,
      day: 1,
      hour: 0,
      minute: 0,
      second: 0,
      fraction: 0,
    };
    fields.forEach((field, index) => {
      const digits = m[index + 1] as string;
      value[field] = field === "fraction" ? fractionMs(digits) : Number(digits);
    });
    return build(
      value.year,
      value.month,
      value.day,
      value.hour,
      value.minute,
      value.second,
      value.fraction,
      0,
    );
  };
}

function zoneOffsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === "Z") return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (m === null) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? 0);
  if (hours > 23 || minutes > 59) return undefined;
  return (m[1] === "-" ? -1 : 1) * (hours * 60 + minutes);
}

function fractionMs(digits: string | undefined): number {
  if (digits === undefined || digits === "") return 0;
  return Math.floor(Number(`0.${digits}`) * 1000);
}

/** Checks every field's range (no 31 February, no hour 24) and returns ISO UTC. */
function build(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  offsetMinutes: number,
): string | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (offsetMinutes === 0) {
    // Already UTC: written out without a Date, which at 1M values took a quarter of a load's
    // translation. The same checks and text as below.
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    if (year < 1 || year > 9999 || day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) {
      return undefined;
    }
    return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}.${pad(ms, 3)}Z`;
  }
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  date.setUTCFullYear(year); // Date.UTC maps years 0–99 to 1900–1999
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return toIso(date.getTime() - offsetMinutes * 60_000);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function pad(n: number, digits: number): string {
  const text = String(n);
  return text.length >= digits ? text : "0".repeat(digits - text.length) + text;
}

function toIso(ms: number): string | undefined {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  if (Number.isNaN(ms) || year < 1 || year > 9999) return undefined;
  return date.toISOString();
}
