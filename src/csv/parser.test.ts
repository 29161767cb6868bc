import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SyncupError } from "../errors.js";
import { resolveCsvFormat, type CsvFormat } from "./format.js";
import { CsvParser, type CsvRow } from "./parser.js";

/** Parses `pieces` pushed one by one; returns the header, rows and the batch sizes. */
function parse(
  pieces: readonly string[],
  format: Partial<CsvFormat> = {},
  options: { batchChars?: number; maxRecordLength?: number } = {},
): { header: string[] | undefined; headerLine: number; rows: CsvRow[] } {
  const parser = new CsvParser("t.csv", resolveCsvFormat(format), options);
  const rows: CsvRow[] = [];
  for (const piece of pieces) {
    parser.push(piece);
    for (let batch = parser.next(); batch !== undefined; batch = parser.next()) rows.push(...batch);
  }
  for (let batch = parser.next(true); batch !== undefined; batch = parser.next(true)) rows.push(...batch);
  return { header: parser.header, headerLine: parser.headerLine, rows };
}

/** Cuts `text` at the given (sorted, deduplicated) positions. */
function cut(text: string, positions: readonly number[]): string[] {
  const pieces: string[] = [];
  let last = 0;
  for (const p of [...new Set(positions.map((x) => x % (text.length + 1)))].sort((a, b) => a - b)) {
    pieces.push(text.slice(last, p));
    last = p;
  }
  pieces.push(text.slice(last));
  return pieces;
}

describe("CsvParser", () => {
  it("gives the same records and lines however the text is cut (property)", () => {
    const field = fc.string({
      unit: fc.constantFrom("a", "b", " ", ";", '"', "\n", "\r", "é", "😀"),
      maxLength: 6,
    });
    const arb = fc.integer({ min: 1, max: 4 }).chain((width) =>
      fc.record({
        table: fc.array(fc.array(field, { minLength: width, maxLength: width }), {
          minLength: 1,
          maxLength: 12,
        }),
        lineEnd: fc.constantFrom("\n", "\r\n", "\r"),
        quoteAll: fc.boolean(),
        cuts: fc.array(fc.nat(), { maxLength: 8 }),
        batchChars: fc.constantFrom(1, 5, 64, 65536),
        trailing: fc.constantFrom("", "\n", "\n\n  \n"),
      }),
    );
    fc.assert(
      fc.property(arb, ({ table, lineEnd, quoteAll, cuts, batchChars, trailing }) => {
        let text = "";
        const lines: number[] = [];
        let line = 1;
        for (const fields of table) {
          // A single unquoted field that is blank would be a blank line: quote those too.
          const quoted = fields.map((f) =>
            quoteAll || /[;"\r\n]|^\s|\s$/.test(f) || (fields.length === 1 && f === "")
              ? `"${f.replaceAll('"', '""')}"`
              : f,
          );
          const record = quoted.join(";");
          lines.push(line);
          line += 1 + (record.match(/\r\n|\r|\n/g)?.length ?? 0);
          text += record + lineEnd;
        }
        text += trailing;
        const result = parse(cut(text, cuts), {}, { batchChars });
        expect(result.header).toEqual(table[0]);
        expect(result.rows.map((r) => r.fields)).toEqual(table.slice(1));
        expect(result.rows.map((r) => r.line)).toEqual(lines.slice(1));
      }),
      { numRuns: 500 },
    );
  });

  it("hands out batches of about batchChars", () => {
    const text = "a;b\n" + "1;2\n".repeat(1000);
    const parser = new CsvParser("t.csv", resolveCsvFormat({}), { batchChars: 400 });
    parser.push(text);
    const sizes: number[] = [];
    for (let batch = parser.next(true); batch !== undefined; batch = parser.next(true))
      sizes.push(batch.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(101);
  });

  it("reports the position after the pushed text", () => {
    const parser = new CsvParser("t.csv", resolveCsvFormat({}));
    parser.push('a;b\n1;"x\r\ny');
    parser.next();
    parser.push("😀z");
    expect(parser.positionAtEnd()).toEqual({ line: 3, column: 4 });
  });

  it("large quoted values: doubled quotes made single across its windows, pieces of any size", () => {
    // Runs of quotes of every even length, placed so that some straddle 64 Ki boundaries.
    let value = "";
    for (let i = 0; value.length < 300_000; i++)
      value += "x".repeat(1 + ((i * 7919) % 65_500)) + '"'.repeat(1 + (i % 4));
    value += "é😀\n;end";
    const line = `1;"${value.replaceAll('"', '""')}";z\n`;
    for (const pieces of [
      [line],
      cut(line, [65_535, 65_536, 131_071, 200_001]),
      line.match(/[^]{1,4096}/g) ?? [],
    ]) {
      const { rows } = parse(["a;b;c\n", ...pieces]);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.fields[1] === value).toBe(true);
      expect(rows[0]?.fields[2]).toBe("z");
    }
  });

  it("a large record split in small pieces is found whole, whatever its line ends", () => {
    for (const end of ["\n", "\r\n"]) {
      const big = "y".repeat(500_000);
      const text = `a;b${end}1;${big}${end}2;"q${end}""r"${end}3;s${end}`;
      const { rows } = parse(text.match(/[^]{1,10000}/g) ?? []);
      expect(rows.map((r) => [r.line, r.fields[0], r.fields[1]?.length])).toEqual([
        [2, "1", 500_000],
        [3, "2", 3 + end.length],
        [5, "3", 1],
      ]);
    }
  });

  it("a missing header at the end is CSV_FILE_EMPTY", () => {
    const parser = new CsvParser("t.csv", resolveCsvFormat({}));
    parser.push(" \n\n");
    expect(parser.next()).toEqual([]);
    expect(() => parser.next(true)).toThrow(SyncupError);
  });
});
