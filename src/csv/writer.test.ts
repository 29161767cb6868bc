import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCsv } from "./reader.js";
import { CsvFileWriter, formatCsvLine } from "./writer.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "syncup-csv-writer-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
const nextPath = (): string => join(dir, `out${counter++}.csv`);

async function readBack(
  path: string,
  separator: string,
  highWaterMark?: number,
): Promise<{ header: string[]; rows: string[][] }> {
  const reader = await openCsv(path, { separator }, highWaterMark === undefined ? {} : { highWaterMark });
  const rows: string[][] = [];
  for await (const batch of reader.rows) for (const row of batch) rows.push(row.fields);
  return { header: reader.header, rows };
}

describe("formatCsvLine", () => {
  it.each([
    [["a", "b"], ";", "a;b\n"],
    [["a;b", 'say "hi"', "x"], ";", '"a;b";"say ""hi""";x\n'],
    [["line1\nline2", "cr\r", ""], ";", '"line1\nline2";"cr\r";\n'],
    [[" lead", "trail ", "in side", "\ttab"], ";", '" lead";"trail ";in side;"\ttab"\n'],
    [["a,b", "c;d"], ",", '"a,b",c;d\n'],
    [[""], ";", '""\n'],
    [["", ""], ";", ";\n"],
    [["\ufeffbom"], ";", '"\ufeffbom"\n'],
    [["O'Brien", "x|y"], "|", 'O\'Brien|"x|y"\n'],
  ])("%j with %j", (fields, separator, expected) => {
    expect(formatCsvLine(fields, separator)).toBe(expected);
  });

  it("defaults to ';' and refuses a bad separator", () => {
    expect(formatCsvLine(["a", "b"])).toBe("a;b\n");
    expect(() => formatCsvLine(["a"], '"')).toThrow(RangeError);
    expect(() => formatCsvLine(["a"], ";;")).toThrow(RangeError);
  });
});

describe("CsvFileWriter", () => {
  it("writes atomically: nothing at the path before commit", async () => {
    const path = nextPath();
    const writer = await CsvFileWriter.open(path, ["id", "name"]);
    await writer.writeBatch([
      ["1", "Zoë"],
      ["2", "a;b"],
    ]);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
    expect(
      (await readdir(dir)).some((name) => name.startsWith(`${path.split("/").at(-1)}.tmp-${process.pid}-`)),
    ).toBe(true);
    expect(writer.rows).toBe(2);
    const done = await writer.commit();
    const bytes = await readFile(path);
    expect(bytes.toString("utf8")).toBe('id;name\n1;Zoë\n2;"a;b"\n');
    expect(done).toEqual({
      path,
      rows: 2,
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
    expect((await readdir(dir)).filter((name) => name.includes(".tmp-"))).toEqual([]);
    await writer.abort(); // no-op after commit
    expect((await stat(path)).size).toBe(bytes.length);
  });

  it("abort leaves nothing, is idempotent, and writing afterwards fails", async () => {
    const path = nextPath();
    const writer = await CsvFileWriter.open(path, ["a"]);
    for (let i = 0; i < 50_000; i++) {
      const wait = writer.write([`row ${i}`]);
      if (wait !== undefined) await wait;
    }
    await writer.abort();
    await writer.abort();
    expect((await readdir(dir)).filter((name) => name.startsWith(path.split("/").at(-1) as string))).toEqual(
      [],
    );
    expect(() => writer.write(["x"])).toThrow(/aborted/);
    await expect(writer.commit()).rejects.toThrow(/aborted/);
  });

  it("a large file: hot path returns promises only now and then, content and hash are right", async () => {
    const path = nextPath();
    const writer = await CsvFileWriter.open(path, ["id", "text"], { separator: "," });
    let waits = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const wait = writer.write([String(i), i % 50 === 0 ? `quoted, "${i}"` : `plain text ${i}`]);
      if (wait !== undefined) {
        waits++;
        await wait;
      }
    }
    expect(waits).toBeLessThan(n / 100);
    const done = await writer.commit();
    expect(done.rows).toBe(n);
    const bytes = await readFile(path);
    expect(done.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    const back = await readBack(path, ",");
    expect(back.rows.length).toBe(n);
    expect(back.rows[100]).toEqual(["100", 'quoted, "100"']);
    expect(back.rows[n - 1]).toEqual([String(n - 1), `plain text ${n - 1}`]);
  });

  it("the target directory must exist; open fails cleanly", async () => {
    await expect(CsvFileWriter.open(join(dir, "no", "such", "x.csv"), ["a"])).rejects.toThrow(/ENOENT/);
  });

  it("round trip: what is written is read back (property)", async () => {
    const unit = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          ";",
          ",",
          "\t",
          "|",
          '"',
          "'",
          "\r",
          "\n",
          "\r\n",
          " ",
          "\ufeff",
          "\u3000",
        ),
      },
      { weight: 3, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
    );
    const field = fc.string({ unit, maxLength: 12 });
    const table = fc.integer({ min: 1, max: 5 }).chain((width) =>
      fc.record({
        header: fc.array(field, { minLength: width, maxLength: width }),
        rows: fc.array(fc.array(field, { minLength: width, maxLength: width }), { maxLength: 20 }),
        separator: fc.constantFrom(";", ",", "\t", "|"),
        highWaterMark: fc.constantFrom(undefined, 1, 7, 64),
      }),
    );
    await fc.assert(
      fc.asyncProperty(table, async ({ header, rows, separator, highWaterMark }) => {
        const path = nextPath();
        const writer = await CsvFileWriter.open(path, header, { separator });
        await writer.writeBatch(rows);
        const done = await writer.commit();
        expect(done.rows).toBe(rows.length);
        const back = await readBack(path, separator, highWaterMark);
        expect(back.header).toEqual(header);
        expect(back.rows).toEqual(rows);
        await rm(path);
      }),
      { numRuns: 300 },
    );
  });
});
