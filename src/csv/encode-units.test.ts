import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCsvUnits, maxCsvLineBytes } from "./encode-units.js";
import { CsvFileWriter, formatCsvLine } from "./writer.js";

/** A row as the sort holds it: code units one field after the other, and the field lengths. */
function asUnits(fields: readonly string[], pad = 0): { units: Uint16Array; lengths: Uint32Array } {
  const text = " ".repeat(pad) + fields.join("");
  const units = new Uint16Array(text.length);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  const lengths = new Uint32Array(pad + fields.length);
  fields.forEach((f, k) => (lengths[pad + k] = f.length));
  return { units, lengths };
}

function encoded(fields: readonly string[], separator = ";"): Buffer {
  const { units, lengths } = asUnits(fields, 2);
  const out = Buffer.alloc(maxCsvLineBytes(units.length, fields.length) + 2);
  const row = { units, start: 2, lengths, at: 2, width: fields.length };
  const end = encodeCsvUnits(row, separator.charCodeAt(0), out, 0);
  return out.subarray(0, end);
}

const NASTY: string[][] = [
  ["a", "b"],
  ["a;b", 'say "hi"', "x"],
  ["line1\nline2", "cr\r", ""],
  [" lead", "trail ", "in side", "\ttab", "\u00a0nbsp", "ideo\u3000"],
  [""],
  ["", ""],
  ["été", "Ωmega", "日本語", "emoji 😀", "\u0100"],
  ["lone \ud800 high", "lone \udc00 low", "\ud83d", "end \ud83d"],
  ['"', '""', ";", "\n"],
];

describe("encodeCsvUnits", () => {
  it.each(NASTY)("writes the bytes of formatCsvLine: %j", (...fields) => {
    expect(encoded(fields)).toEqual(Buffer.from(formatCsvLine(fields), "utf8"));
  });

  it("writes the bytes of formatCsvLine for any fields and separator", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "binary" }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(";", ",", "\t", "|"),
        (fields, separator) => {
          expect(encoded(fields, separator)).toEqual(Buffer.from(formatCsvLine(fields, separator), "utf8"));
        },
      ),
    );
  });
});

describe("CsvFileWriter.writeUnits", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "syncup-csv-units-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes the same file, hash and counts as write, mixed with write in any order", async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => NASTY[i % NASTY.length] as string[]);
    const byStrings = await CsvFileWriter.open(join(dir, "strings.csv"), ["h1", "h2"]);
    for (const row of rows) await byStrings.write(row);
    const expected = await byStrings.commit();
    const byUnits = await CsvFileWriter.open(join(dir, "units.csv"), ["h1", "h2"]);
    for (const [i, row] of rows.entries()) {
      if (i % 7 === 3) await byUnits.write(row);
      else {
        const { units, lengths } = asUnits(row);
        await byUnits.writeUnits(units, 0, lengths, 0, row.length);
      }
    }
    const done = await byUnits.commit();
    expect({ ...done, path: "" }).toEqual({ ...expected, path: "" });
    expect(await readFile(done.path)).toEqual(await readFile(expected.path));
  });

  it("writes a separator beyond ASCII as write does", async () => {
    const row = ["a§b", "c"];
    const byStrings = await CsvFileWriter.open(join(dir, "s2.csv"), ["x", "y"], { separator: "§" });
    await byStrings.write(row);
    const byUnits = await CsvFileWriter.open(join(dir, "u2.csv"), ["x", "y"], { separator: "§" });
    const { units, lengths } = asUnits(row);
    await byUnits.writeUnits(units, 0, lengths, 0, 2);
    const [a, b] = [await byStrings.commit(), await byUnits.commit()];
    expect(await readFile(b.path)).toEqual(await readFile(a.path));
  });
});
