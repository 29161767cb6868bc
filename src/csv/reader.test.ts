// Long file: the reader's one test twin (as every API of csv/ has): the csv-spectrum corpus, reading in batches, and every error with its line and column, sharing the helpers below.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SyncupError } from "../errors.js";
import type { CsvFormat } from "./format.js";
import { openCsv, type OpenCsvOptions } from "./reader.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "syncup-csv-reader-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function fileWith(content: string | Buffer): Promise<string> {
  const path = join(dir, `f${counter++}.csv`);
  await writeFile(path, content);
  return path;
}

interface Read {
  header: string[];
  headerLine: number;
  rows: string[][];
  lines: number[];
  batches: number;
}

async function readAll(
  content: string | Buffer,
  format: Partial<CsvFormat> = {},
  options: OpenCsvOptions = {},
): Promise<Read> {
  const path = await fileWith(content);
  const reader = await openCsv(path, format, { label: "x.csv", ...options });
  const rows: string[][] = [];
  const lines: number[] = [];
  let batches = 0;
  for await (const batch of reader.rows) {
    batches++;
    for (const row of batch) {
      rows.push(row.fields);
      lines.push(row.line);
    }
  }
  expect(reader.bytesRead()).toBe(reader.size);
  return { header: reader.header, headerLine: reader.headerLine, rows, lines, batches };
}

async function errorOf(
  content: string | Buffer,
  format: Partial<CsvFormat> = {},
  options: OpenCsvOptions = {},
): Promise<SyncupError> {
  try {
    await readAll(content, format, options);
  } catch (error) {
    expect(error).toBeInstanceOf(SyncupError);
    return error as SyncupError;
  }
  throw new Error("expected an error");
}

describe("csv-spectrum corpus", () => {
  const root = join(import.meta.dirname, "../../node_modules/csv-spectrum");
  // The corpus's expected JSON for location_coordinates.csv has a different phone number than its CSV.
  const corpusMistakes: Record<string, Record<string, string>> = {
    location_coordinates: { "Contact Phone Number": "2095257564" },
  };

  it("has the corpus", async () => {
    expect((await readdir(join(root, "csvs"))).length).toBeGreaterThanOrEqual(12);
  });

  it.each([0, 3])("reads every file as its JSON says (highWaterMark %i = default or tiny)", async (hwm) => {
    for (const name of await readdir(join(root, "csvs"))) {
      const base = name.replace(/\.csv$/, "");
      const expected = JSON.parse(await readFile(join(root, "json", `${base}.json`), "utf8")) as
        Record<string, string> | Record<string, string>[];
      const objects = (Array.isArray(expected) ? expected : [expected]).map((o) => ({
        ...o,
        ...corpusMistakes[base],
      }));
      const reader = await openCsv(
        join(root, "csvs", name),
        { separator: "," },
        hwm > 0 ? { highWaterMark: hwm } : {},
      );
      const actual: Record<string, string | undefined>[] = [];
      for await (const batch of reader.rows) {
        for (const row of batch)
          actual.push(Object.fromEntries(reader.header.map((h, i) => [h, row.fields[i]])));
      }
      expect(actual, name).toEqual(objects);
    }
  });
});

describe("reading", () => {
  const cases: {
    name: string;
    input: string | Buffer;
    format?: Partial<CsvFormat>;
    header: string[];
    rows: string[][];
    lines?: number[];
    headerLine?: number;
  }[] = [
    { name: "simple", input: "a;b\n1;2\n", header: ["a", "b"], rows: [["1", "2"]], lines: [2] },
    { name: "no final line end", input: "a;b\n1;2", header: ["a", "b"], rows: [["1", "2"]] },
    {
      name: "CRLF",
      input: "a;b\r\n1;2\r\n3;4\r\n",
      header: ["a", "b"],
      rows: [
        ["1", "2"],
        ["3", "4"],
      ],
      lines: [2, 3],
    },
    {
      name: "lone CR",
      input: "a;b\r1;2\r3;4",
      header: ["a", "b"],
      rows: [
        ["1", "2"],
        ["3", "4"],
      ],
      lines: [2, 3],
    },
    {
      name: "UTF-8 BOM",
      input: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("id;name\n1;Zoë\n")]),
      header: ["id", "name"],
      rows: [["1", "Zoë"]],
    },
    {
      name: "UTF-16LE with BOM",
      input: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("id;name\r\n1;Zoë 😀\r\n", "utf16le")]),
      format: { encoding: "utf-16le" },
      header: ["id", "name"],
      rows: [["1", "Zoë 😀"]],
    },
    {
      name: "UTF-16 detected LE",
      input: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("id;name\n1;Zoë\n", "utf16le")]),
      format: { encoding: "utf-16" },
      header: ["id", "name"],
      rows: [["1", "Zoë"]],
    },
    {
      name: "UTF-16 without BOM is LE",
      input: Buffer.from("id;name\n1;Zoë\n", "utf16le"),
      format: { encoding: "utf-16" },
      header: ["id", "name"],
      rows: [["1", "Zoë"]],
    },
    {
      name: "UTF-16BE with BOM, explicit and detected",
      input: Buffer.from("\ufeffid;name\n1;Zoë 😀\n", "utf16le").swap16(),
      format: { encoding: "utf-16be" },
      header: ["id", "name"],
      rows: [["1", "Zoë 😀"]],
    },
    {
      name: "UTF-16 detected BE",
      input: Buffer.from("\ufeffid;name\n1;Zoë\n", "utf16le").swap16(),
      format: { encoding: "utf-16" },
      header: ["id", "name"],
      rows: [["1", "Zoë"]],
    },
    {
      name: "separator, CRLF and doubled quotes inside quotes",
      input: 'a;b;c\r\n"x;y";"line1\r\nline2";"say ""hi"""\r\n4;5;6\r\n',
      header: ["a", "b", "c"],
      rows: [
        ["x;y", "line1\r\nline2", 'say "hi"'],
        ["4", "5", "6"],
      ],
      lines: [2, 4],
    },
    {
      name: "newlines in quotes count as lines; lone CR in quotes too",
      input: 'a;b\n"1\n\n2";x\n"3\r4";y\n5;z\n',
      header: ["a", "b"],
      rows: [
        ["1\n\n2", "x"],
        ["3\r4", "y"],
        ["5", "z"],
      ],
      lines: [2, 5, 7],
    },
    {
      name: "empty fields and empty quoted fields",
      input: 'a;b;c\n;;\n"";"";""\n;"";\n',
      header: ["a", "b", "c"],
      rows: [
        ["", "", ""],
        ["", "", ""],
        ["", "", ""],
      ],
    },
    {
      name: "quote in the middle of an unquoted field is literal",
      input: 'name;x\nO"Brien;1\n5" disk;"q"\n',
      header: ["name", "x"],
      rows: [
        ['O"Brien', "1"],
        ['5" disk', "q"],
      ],
    },
    {
      name: "trailing empty line and line of spaces",
      input: "a;b\n1;2\n\n   \n",
      header: ["a", "b"],
      rows: [["1", "2"]],
    },
    {
      name: "blank lines anywhere, including before the header",
      input: "\n \t\r\na;b\n\n1;2\r\n\r\n  \n3;4\n",
      header: ["a", "b"],
      rows: [
        ["1", "2"],
        ["3", "4"],
      ],
      headerLine: 3,
      lines: [5, 8],
    },
    {
      name: "whitespace-only quoted field is not blank",
      input: 'a\n"  "\n',
      header: ["a"],
      rows: [["  "]],
    },
    {
      name: "tab separator: a line of tabs is a row of empty fields",
      input: "a\tb\n\t\n",
      format: { separator: "\t" },
      header: ["a", "b"],
      rows: [["", ""]],
    },
    {
      name: "skipLines counts physical lines (quotes are not looked at)",
      input: 'Export of 2024-01-01 "all\nusers\na;b\n1;2\n',
      format: { skipLines: 2 },
      header: ["a", "b"],
      rows: [["1", "2"]],
      headerLine: 3,
      lines: [4],
    },
    {
      name: "skipLines with CRLF and blank lines after",
      input: "junk\r\n\r\nmore junk\r\n\r\na;b\r\n1;2\r\n",
      format: { skipLines: 3 },
      header: ["a", "b"],
      rows: [["1", "2"]],
      headerLine: 5,
    },
    {
      name: "trim applies to unquoted fields and header names, not quoted ones",
      input: ' id ; name \n 1 ;" Zoë "\n\t2\t; "x" \n',
      format: { trim: " \t" },
      header: ["id", "name"],
      rows: [
        ["1", " Zoë "],
        ["2", "x"],
      ],
    },
    {
      name: "latin1 bytes",
      input: Buffer.from([...Buffer.from("name\nRen"), 0xe9, 0x0a, 0x80, 0x0a]),
      format: { encoding: "latin1" },
      header: ["name"],
      rows: [["René"], ["\u0080"]],
    },
    {
      name: "windows-1252 bytes",
      input: Buffer.from([...Buffer.from("name\nRen"), 0xe9, 0x0a, 0x80, 0x0a]),
      format: { encoding: "windows-1252" },
      header: ["name"],
      rows: [["René"], ["€"]],
    },
    {
      name: "header names are as parsed, duplicates and empties allowed",
      input: 'a;;a;"b;c"\n1;2;3;4\n',
      header: ["a", "", "a", "b;c"],
      rows: [["1", "2", "3", "4"]],
    },
    {
      name: "other quote character",
      input: "a,b\n'x,y','it''s'\n",
      format: { separator: ",", quote: "'" },
      header: ["a", "b"],
      rows: [["x,y", "it's"]],
    },
    { name: "header only", input: "a;b\n", header: ["a", "b"], rows: [] },
    { name: "quoted last field at end of file", input: 'a;b\n1;"2"', header: ["a", "b"], rows: [["1", "2"]] },
  ];

  for (const c of cases) {
    it.each([undefined, 1, 2, 3, 7])(`${c.name} (highWaterMark %s)`, async (hwm) => {
      const read = await readAll(c.input, c.format, hwm === undefined ? {} : { highWaterMark: hwm });
      expect(read.header).toEqual(c.header);
      expect(read.rows).toEqual(c.rows);
      if (c.lines !== undefined) expect(read.lines).toEqual(c.lines);
      if (c.headerLine !== undefined) expect(read.headerLine).toBe(c.headerLine);
    });
  }

  it("splits a multi-byte character across chunks", async () => {
    // "€" is 3 bytes, "😀" 4: with 1..5-byte chunks every split happens.
    const input = Buffer.from("h€ad;x\n€😀;é\n", "utf8");
    for (let hwm = 1; hwm <= 5; hwm++) {
      const read = await readAll(input, {}, { highWaterMark: hwm });
      expect(read.header).toEqual(["h€ad", "x"]);
      expect(read.rows).toEqual([["€😀", "é"]]);
    }
  });

  it("reads a file much larger than the highWaterMark, in batches", async () => {
    let text = "id;name;note\n";
    const expected: string[][] = [];
    const lines: number[] = [];
    let line = 2;
    for (let i = 0; i < 5000; i++) {
      lines.push(line);
      line += i % 7 === 0 ? 2 : 1;
      const row = [String(i), `näme ${i}`, i % 7 === 0 ? `multi\nline "${i}"; x` : `plain ${i}`];
      expected.push(row);
      text += `${row[0]};${row[1]};${i % 7 === 0 ? `"${row[2]?.replaceAll('"', '""')}"` : row[2]}\n`;
    }
    const read = await readAll(text, {}, { highWaterMark: 4096 });
    expect(read.rows).toEqual(expected);
    expect(read.batches).toBeGreaterThan(10);
    expect(read.lines).toEqual(lines);
  });

  it("defers re-parsing of a large record and still reads it", async () => {
    const big = "x".repeat(300_000) + "\n" + '""'.repeat(50_000);
    const input = `a;b\n1;"${big}"\n2;z\n`;
    const read = await readAll(input, {}, { highWaterMark: 1000 });
    expect(read.rows).toEqual([
      ["1", big.replaceAll('""', '"')],
      ["2", "z"],
    ]);
    expect(read.lines).toEqual([2, 4]);
  });

  it("reports progress and size", async () => {
    const path = await fileWith("a;b\n" + "1;2\n".repeat(1000));
    const reader = await openCsv(path, {}, { highWaterMark: 512 });
    expect(reader.size).toBe(4004);
    const progress: number[] = [];
    for await (const _batch of reader.rows) progress.push(reader.bytesRead());
    expect(progress.at(-1)).toBe(4004);
    expect(progress.length).toBeGreaterThan(5);
  });

  it("closes the file when the iteration stops early, and iterates only once", async () => {
    const path = await fileWith("a;b\n" + "1;2\n".repeat(10000));
    const reader = await openCsv(path, {}, { highWaterMark: 64 });
    for await (const batch of reader.rows) {
      expect(batch.length).toBeGreaterThan(0);
      break;
    }
    await expect(async () => {
      for await (const _batch of reader.rows) {
        // nothing
      }
    }).rejects.toThrow(/only once/);
    await reader.close();
  });

  it("close() during the iteration ends it quietly (no error for the cut-off rest)", async () => {
    const path = await fileWith("a;b\n" + "2;y\n".repeat(10000) + '3;"never closed\n');
    const reader = await openCsv(path, {}, { highWaterMark: 64 });
    let batches = 0;
    for await (const _batch of reader.rows) {
      if (++batches === 2) await reader.close();
    }
    expect(batches).toBe(2);
  });
});

describe("errors", () => {
  it("missing file", async () => {
    const error = await openCsv(join(dir, "nope.csv"), {}, { label: "nope.csv" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncupError);
    expect((error as SyncupError).code).toBe("CSV_FILE_MISSING");
    expect((error as SyncupError).message).toMatch(/"nope.csv" does not exist.*run the export/);
  });

  it("a directory is not a file", async () => {
    const error = (await openCsv(dir).catch((e: unknown) => e)) as SyncupError;
    expect(error.code).toBe("CSV_FILE_MISSING");
  });

  it.each([
    ["empty file", "", {}],
    ["only blank lines", "\n  \r\n\n", {}],
    ["only skipped lines", "junk\njunk\n", { skipLines: 2 }],
    ["UTF-8 BOM only", Buffer.from([0xef, 0xbb, 0xbf]), {}],
  ])("%s", async (_name, input, format) => {
    const error = await errorOf(input, format);
    expect(error.code).toBe("CSV_FILE_EMPTY");
    expect(error.message).toMatch(/^"x.csv" is empty: expected a header line/);
    expect(error.position).toEqual({ file: "x.csv" });
  });

  it.each([undefined, 1, 5])("ragged row with the separator hint (highWaterMark %s)", async (hwm) => {
    const input = "a;b;c;d;e;f;g\n1;2;3;4;5;6;7\n\n1;2;3;4;5,6,7\n";
    const error = await errorOf(input, {}, hwm === undefined ? {} : { highWaterMark: hwm });
    expect(error.code).toBe("CSV_RAGGED_ROW");
    expect(error.message).toBe(
      'Cannot parse "x.csv" line 4: expected 7 fields, found 5 (the line contains ","; is the separator ";" right?)',
    );
    expect(error.position).toEqual({ file: "x.csv", line: 4 });
  });

  it("too many fields gives the column of the first surplus field", async () => {
    const error = await errorOf("a;b\n1;2\n3;4;5\n");
    expect(error.code).toBe("CSV_RAGGED_ROW");
    expect(error.message).toMatch(
      /^Cannot parse "x.csv" line 3: expected 2 fields, found 3 \(a value that contains ";"/,
    );
    expect(error.position).toEqual({ file: "x.csv", line: 3, column: 5 });
  });

  it("too many fields in a quoted record", async () => {
    const error = await errorOf('a;b\n"1";"2";x\n');
    expect(error.position).toEqual({ file: "x.csv", line: 2, column: 9 });
  });

  it("too few fields in a multi-line record, hint with tab", async () => {
    const error = await errorOf('a;b;c\n"x\ny";z\t1\n');
    expect(error.message).toBe(
      'Cannot parse "x.csv" line 2: expected 3 fields, found 2 (the line contains a tab; is the separator ";" right?)',
    );
  });

  it.each([undefined, 1, 4])("unterminated quote names where it opened (highWaterMark %s)", async (hwm) => {
    const input = 'a;b\n1;2\n3;"abc\ndef\n';
    const error = await errorOf(input, {}, hwm === undefined ? {} : { highWaterMark: hwm });
    expect(error.code).toBe("CSV_UNTERMINATED_QUOTE");
    expect(error.position).toEqual({ file: "x.csv", line: 3, column: 3 });
    expect(error.message).toMatch(/^Cannot parse "x.csv" line 3, column 3: the quoted field that opens here/);
  });

  it("unterminated quote after a long open field hits the record limit early", async () => {
    const input = 'a;b\n1;"' + "x".repeat(200_000);
    const error = await errorOf(input, {}, { highWaterMark: 1000, maxRecordLength: 100_000 });
    expect(error.code).toBe("CSV_UNTERMINATED_QUOTE");
    expect(error.position).toEqual({ file: "x.csv", line: 2, column: 3 });
    expect(error.message).toMatch(/still open after/);
  });

  it("a line longer than the record limit", async () => {
    const error = await errorOf(
      "a;b\n" + "x".repeat(200_000),
      {},
      { highWaterMark: 1000, maxRecordLength: 100_000 },
    );
    expect(error.code).toBe("CSV_RECORD_TOO_LARGE");
    expect(error.position).toEqual({ file: "x.csv", line: 2, column: 1 });
    expect(error.message).toContain("check the file's encoding and line ends");
  });

  it.each([undefined, 1000])(
    "a complete record longer than the limit names the field that crosses it (highWaterMark %s)",
    async (hwm) => {
      const input = "id;name;data\n1;a;b\n2;Zoë;" + "x".repeat(200_000) + "\n3;c;d\n";
      const error = await errorOf(
        input,
        {},
        {
          maxRecordLength: 100_000,
          maxRecordSetting: "prepare.maxRecordMiB",
          ...(hwm === undefined ? {} : { highWaterMark: hwm }),
        },
      );
      expect(error.code).toBe("CSV_RECORD_TOO_LARGE");
      expect(error.position).toEqual({ file: "x.csv", line: 3, column: 7 });
      expect(error.message).toBe(
        'Cannot parse "x.csv" line 3, column 7: the record that starts on line 3 is longer than 100000 characters, ' +
          'the longest record accepted (prepare.maxRecordMiB); field 3 ("data"), which starts here, crosses the ' +
          "limit. If the data is right, raise the limit; if the record should have ended sooner, check the " +
          "file's encoding and line ends.",
      );
    },
  );

  it("a quoted field of many lines and doubled quotes that crosses the limit: too large when its end was read, else maybe unterminated", async () => {
    const input = 'id;data\n1;x\n2;"' + 'a""b\n'.repeat(30_000) + '"\n';
    const whole = await errorOf(input, {}, { maxRecordLength: 100_000 });
    expect(whole.code).toBe("CSV_RECORD_TOO_LARGE");
    expect(whole.position).toEqual({ file: "x.csv", line: 3, column: 3 });
    const streamed = await errorOf(input, {}, { maxRecordLength: 100_000, highWaterMark: 4096 });
    expect(streamed.code).toBe("CSV_UNTERMINATED_QUOTE");
    expect(streamed.position).toEqual({ file: "x.csv", line: 3, column: 3 });
    expect(streamed.message).toContain("if the field really is that long, raise the limit");
  });

  it("accepts a record of exactly the limit (line end included), refuses one character more", async () => {
    const line = "1;" + "x".repeat(98) + "\n"; // 101 characters
    expect((await readAll("a;b\n" + line, {}, { maxRecordLength: 101 })).rows).toHaveLength(1);
    const error = await errorOf("a;b\n" + line, {}, { maxRecordLength: 100 });
    expect(error.code).toBe("CSV_RECORD_TOO_LARGE");
    const quoted = '1;"' + "x".repeat(96) + '"\n';
    expect((await readAll("a;b\n" + quoted, {}, { maxRecordLength: 101 })).rows).toHaveLength(1);
    expect((await errorOf("a;b\n" + quoted, {}, { maxRecordLength: 100 })).code).toBe("CSV_RECORD_TOO_LARGE");
  });

  it.each([undefined, 1, 3])("bad quote: closing quote followed by text (highWaterMark %s)", async (hwm) => {
    const error = await errorOf(
      'a;b\n1;2\nxé;"abc"def\n',
      {},
      hwm === undefined ? {} : { highWaterMark: hwm },
    );
    expect(error.code).toBe("CSV_BAD_QUOTE");
    expect(error.position).toEqual({ file: "x.csv", line: 3, column: 8 });
    expect(error.message).toMatch(/followed by "d" .*write a quote as two quotes \(""\)/);
  });

  it("bad quote on a later line of a multi-line field", async () => {
    const error = await errorOf('a;b\n1;"x\n""y"" z" w\n');
    expect(error.code).toBe("CSV_BAD_QUOTE");
    expect(error.position).toEqual({ file: "x.csv", line: 3, column: 8 });
  });

  it("the first error in file order wins over a later bad byte in the same chunk", async () => {
    const input = Buffer.concat([Buffer.from("a;b\n1;2;3\n"), Buffer.from([0xff, 0x0a])]);
    expect((await errorOf(input)).code).toBe("CSV_RAGGED_ROW");
  });

  const badUtf8: [string, Buffer, number, number, number, RegExp][] = [
    // name, bytes, line, column, byte offset, reason
    [
      "latin1 é read as UTF-8",
      Buffer.from([...Buffer.from("a;b\n1;Ren"), 0xe9, 0x0a]),
      2,
      6,
      9,
      /invalid UTF-8 sequence 0xE9 0x0A/,
    ],
    [
      "invalid byte after multi-byte chars",
      Buffer.from([...Buffer.from("a;b\r\n1;2\r\nü€;x"), 0xff]),
      3,
      5,
      17,
      /invalid UTF-8 byte 0xFF/,
    ],
    [
      "bad byte inside a quoted multi-line field",
      Buffer.from([...Buffer.from('a;b\n1;"x\nyz'), 0xc0, 0x80, 0x22, 0x0a]),
      3,
      3,
      11,
      /0xC0/,
    ],
    [
      "truncated sequence at end of file",
      Buffer.from([...Buffer.from("a;b\n1;x"), 0xe2, 0x82]),
      2,
      4,
      7,
      /ends in the middle/,
    ],
    ["encoded surrogate", Buffer.from([...Buffer.from("a\n"), 0xed, 0xa0, 0x80]), 2, 1, 2, /0xED 0xA0/],
    ["bad byte right after a CR", Buffer.from([...Buffer.from("a;b\r"), 0xff]), 2, 1, 4, /0xFF/],
  ];
  for (const [name, bytes, line, column, offset, reason] of badUtf8) {
    it.each([undefined, 1, 2, 5])(`invalid UTF-8: ${name} (highWaterMark %s)`, async (hwm) => {
      const error = await errorOf(bytes, {}, hwm === undefined ? {} : { highWaterMark: hwm });
      expect(error.code).toBe("CSV_BAD_ENCODING");
      expect(error.position).toEqual({ file: "x.csv", line, column });
      expect(error.message).toContain(
        `line ${line}, column ${column} (character column; byte offset ${offset} in the file)`,
      );
      expect(error.message).toMatch(reason);
      expect(error.message).toMatch(/encoding option/);
    });
  }

  it("a UTF-16 file read as UTF-8 says so", async () => {
    const error = await errorOf(Buffer.from("\ufeffa;b\n", "utf16le"));
    expect(error.code).toBe("CSV_BAD_ENCODING");
    expect(error.position).toEqual({ file: "x.csv", line: 1, column: 1 });
    expect(error.message).toMatch(/UTF-16 byte order mark/);
  });

  const badUtf16: [string, Buffer, Partial<CsvFormat>, number, number, RegExp][] = [
    [
      "odd byte count",
      Buffer.concat([Buffer.from("a;b\n1;2", "utf16le"), Buffer.from([0x41])]),
      { encoding: "utf-16le" },
      2,
      4,
      /odd number of bytes/,
    ],
    [
      "lone low surrogate (LE)",
      Buffer.from("\ufeffa;b\n1;x\udc00\n", "utf16le"),
      { encoding: "utf-16le" },
      2,
      4,
      /unpaired UTF-16LE surrogate 0xDC00/,
    ],
    [
      "lone high surrogate at the end (BE, detected)",
      Buffer.from("\ufeffa;b\n1;x😀\ud800", "utf16le").swap16(),
      { encoding: "utf-16" },
      2,
      5,
      /unpaired UTF-16BE surrogate 0xD800/,
    ],
    [
      "high surrogate followed by a letter",
      Buffer.from("a;b\n\ud800x;1\n", "utf16le"),
      { encoding: "utf-16le" },
      2,
      1,
      /unpaired/,
    ],
  ];
  for (const [name, bytes, format, line, column, reason] of badUtf16) {
    it.each([undefined, 1, 3])(`invalid UTF-16: ${name} (highWaterMark %s)`, async (hwm) => {
      const error = await errorOf(bytes, format, hwm === undefined ? {} : { highWaterMark: hwm });
      expect(error.code).toBe("CSV_BAD_ENCODING");
      expect(error.position).toEqual({ file: "x.csv", line, column });
      expect(error.message).toMatch(reason);
    });
  }

  it("invalid format options", async () => {
    const path = await fileWith("a\n");
    await expect(openCsv(path, { separator: ";;" })).rejects.toThrow(
      /separator must be exactly one character/,
    );
    await expect(openCsv(path, { separator: '"' })).rejects.toThrow(/must differ/);
  });
});
