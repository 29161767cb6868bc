/**
 * CSV reader candidates on the same generated file (1M rows of AD-like data, 7 columns, about
 * 100 bytes a row, 2 % quoted fields some with separators, doubled quotes or line breaks, 5 %
 * non-ASCII names, some beyond Latin-1 so that decoded text is two-byte; and an ASCII-only
 * variant): papaparse (streaming), udsv (streaming) and ours (`openCsv`). Each run is a child
 * process (clean heap; peak RSS per run). Every candidate must see the same rows and characters
 * (the check is per file).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/csv-parse.js [--rows 1000000] [--runs 3]
 */
import { seededRandom } from "./generate.js";
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from "node:fs";
import { once } from "node:events";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Papa from "papaparse";
import { inferSchema, initParser } from "udsv";
import { openCsv } from "../csv/reader.js";
import type { CsvEncoding } from "../csv/format.js";

const here = fileURLToPath(import.meta.url);
const root = resolve(dirname(here), "..", "..");
const CHUNK = 1024 * 1024;

interface Result {
  rows: number;
  chars: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds of the process (all threads): steadier than wall-clock on a busy machine. */
  cpuSeconds: number;
  maxRssMiB: number;
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const DEPARTMENTS = ["Finance", "HR", "IT", "Sales", "Marketing", "Legal", "Operations", "R&D"];
const NAMES = ["Müller", "Jürgen", "Zoë", "Łukasz", "Søren", "Renée", "Gößmann", "Ørsted"];

function quote(field: string): string {
  return `"${field.replaceAll('"', '""')}"`;
}

async function generate(path: string, rows: number, lineEnd: string, ascii = false): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const random = seededRandom(42);
  const out = createWriteStream(path);
  let text = `dn;sAMAccountName;displayName;mail;employeeID;department;whenCreated${lineEnd}`;
  for (let id = 0; id < rows; id++) {
    const sam = `u${id.toString(36).padStart(7, "0")}`;
    const name = random() < 0.05 && !ascii ? (NAMES[id % NAMES.length] as string) : "User";
    const fields = [
      `CN=${sam},OU=Users,DC=corp,DC=example`,
      sam,
      `${name} ${sam}`,
      `${sam}@corp.example.com`,
      String(100000 + id),
      DEPARTMENTS[id % 8] as string,
      `2026${String((id % 12) + 1).padStart(2, "0")}15120000.0Z`,
    ];
    for (let i = 0; i < fields.length; i++) {
      if (random() >= 0.02) continue;
      const kind = random();
      const value = fields[i] as string;
      fields[i] = quote(kind < 0.5 ? value : kind < 0.75 ? `${value}; "x"` : `${value}\nsecond line`);
    }
    text += fields.join(";") + lineEnd;
    if (text.length > CHUNK && !out.write(text)) await once(out, "drain");
    if (text.length > CHUNK) text = "";
  }
  out.end(text);
  await once(out, "finish");
}

async function runOurs(path: string, encoding: CsvEncoding): Promise<[number, number]> {
  const reader = await openCsv(path, { encoding });
  let rows = 0;
  let chars = 0;
  for await (const batch of reader.rows) {
    rows += batch.length;
    for (const row of batch) for (const field of row.fields) chars += field.length;
  }
  return [rows, chars];
}

async function runPapa(path: string): Promise<[number, number]> {
  let rows = -1; // the header is a row to papaparse
  let chars = 0;
  const stream = createReadStream(path, { encoding: "utf8", highWaterMark: CHUNK });
  await new Promise<void>((done, fail) => {
    Papa.parse<string[]>(stream, {
      delimiter: ";",
      newline: "\n",
      quoteChar: '"',
      skipEmptyLines: true,
      chunk: (results) => {
        for (const row of results.data) {
          rows++;
          for (const field of row) chars += field.length;
        }
        if (results.errors.length > 0) fail(new Error(JSON.stringify(results.errors[0])));
      },
      complete: () => done(),
      error: (error: Error) => fail(error),
    });
  });
  // The header's characters were counted as data: take them off.
  chars -= "dnsAMAccountNamedisplayNamemailemployeeIDdepartmentwhenCreated".length;
  return [rows, chars];
}

async function runUdsv(path: string): Promise<[number, number]> {
  let rows = 0;
  let chars = 0;
  let parser: ReturnType<typeof initParser> | undefined;
  const onRow = (row: string[]): void => {
    rows++;
    for (const field of row) chars += field.length;
  };
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: CHUNK })) {
    const text = chunk as string;
    parser ??= initParser(inferSchema(text, { col: ";", row: "\n", encl: '"' }));
    parser.chunk<string[]>(text, parser.stringArrs, onRow);
  }
  parser?.end();
  return [rows, chars];
}

async function child(candidate: string, path: string): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const [rows, chars] =
    candidate === "papaparse"
      ? await runPapa(path)
      : candidate === "udsv"
        ? await runUdsv(path)
        : await runOurs(path, candidate === "ours-windows-1252" ? "windows-1252" : "utf-8");
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const result: Result = {
    rows,
    chars,
    seconds,
    cpuSeconds,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

async function main(): Promise<void> {
  const rows = Number(option("--rows") ?? 1_000_000);
  const runs = Number(option("--runs") ?? 3);
  const dir = resolve(option("--dir") ?? join(root, ".bench"));
  const files = {
    lf: join(dir, `csv-parse-${rows}.csv`),
    crlf: join(dir, `csv-parse-${rows}-crlf.csv`),
    ascii: join(dir, `csv-parse-${rows}-ascii.csv`),
  };
  if (!existsSync(files.lf)) await generate(files.lf, rows, "\n");
  if (!existsSync(files.crlf)) await generate(files.crlf, rows, "\r\n");
  if (!existsSync(files.ascii)) await generate(files.ascii, rows, "\n", true);
  const candidates: [string, string, string][] = [
    ["papaparse", "papaparse 5 (streaming, Node stream)", files.lf],
    ["udsv", "udsv 0.7 (streaming chunks)", files.lf],
    ["ours", "ours: openCsv utf-8", files.lf],
    ["ours", "ours: openCsv utf-8, CRLF", files.crlf],
    ["ours-windows-1252", "ours: openCsv windows-1252", files.lf],
    ["papaparse", "papaparse, ASCII-only file", files.ascii],
    ["udsv", "udsv, ASCII-only file", files.ascii],
    ["ours", "ours: openCsv utf-8, ASCII-only file", files.ascii],
  ];
  const mb = statSync(files.lf).size / 1e6;
  console.log(`${rows} rows, ${mb.toFixed(1)} MB (${process.version}), ${runs} runs each (medians):`);
  const references = new Map<string, string>();
  for (const [candidate, label, path] of candidates) {
    const results: Result[] = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, [here, "--child", candidate, path], { encoding: "utf8" });
      results.push(JSON.parse(out.trim()) as Result);
    }
    const median = (values: number[]): number =>
      [...values].sort((a, b) => a - b)[values.length >> 1] as number;
    const size = statSync(path).size / 1e6;
    const wall = median(results.map((r) => r.seconds));
    const best = Math.min(...results.map((r) => r.seconds));
    const cpu = median(results.map((r) => r.cpuSeconds));
    const rss = Math.max(...results.map((r) => r.maxRssMiB));
    const first = results[0] as Result;
    const check = `${first.rows} rows, ${first.chars} chars`;
    const key = path === files.crlf ? files.lf : path;
    const reference = references.get(key);
    const same =
      candidate === "ours-windows-1252" || reference === undefined || reference === check ? "" : "  MISMATCH";
    if (candidate !== "ours-windows-1252" && reference === undefined) references.set(key, check);
    const rate = (seconds: number): string => (size / seconds).toFixed(0).padStart(4);
    console.log(
      `${label.padEnd(36)} wall ${rate(wall)} MB/s (best ${rate(best)})  cpu ${rate(cpu)} MB/s  ` +
        `peak RSS ${rss.toFixed(0)} MiB  (${check})${same}`,
    );
  }
}

const childIndex = process.argv.indexOf("--child");
if (childIndex >= 0) {
  await child(process.argv[childIndex + 1] as string, process.argv[childIndex + 2] as string);
} else {
  await main();
}
