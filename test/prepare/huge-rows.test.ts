/**
 * `syncup prepare` on rows of tens of megabytes: its peak memory stays under the bound the
 * README documents (150 MiB + 2 × prepare.memoryBudgetMiB + 10 × the largest record, whose
 * characters beyond Latin-1 count twice), measured in the real process; a record over
 * prepare.maxRecordMiB is refused with its file, line and column.
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const bin = resolve(import.meta.dirname, "..", "..", "bin", "syncup.js");
const scratch = mkdtempSync(join(tmpdir(), "syncup-huge-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MiB = 1024 * 1024;
/** Makes the child print its peak resident memory (KiB) as it exits. */
const REPORT_RSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nmaxRSS="+process.resourceUsage().maxRSS+"\\n"))';

function workspace(name: string, prepare: { memoryBudgetMiB: number; maxRecordMiB: number }): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, "work", "export"), { recursive: true });
  writeFileSync(
    join(dir, "syncup.yaml"),
    `version: 1
workDir: ./work
prepare: ${JSON.stringify(prepare)}
entityModel:
  entityTypes:
    Item:
      properties:
        id: { type: string }
        data: { type: string }
        note: { type: string }
connectors:
  C:
    connections:
      src: { type: csv, path: ./in, tables: { items: { file: '^items\\.csv$' } } }
    entityTypeMappings:
      Item: { table: src_items, primaryKey: id, properties: { id: id, data: data, note: note } }
`,
  );
  return dir;
}

function prepare(dir: string): { code: number | null; stderr: string; maxRssMiB: number } {
  const run = spawnSync(
    process.execPath,
    [
      "--import",
      REPORT_RSS,
      bin,
      "prepare",
      "--config",
      join(dir, "syncup.yaml"),
      "--connector",
      "C",
      "--no-progress",
    ],
    { encoding: "utf8", env: { ...process.env, SYNCUP_DATABASE_URL: "" } },
  );
  const rss = /maxRSS=(\d+)/.exec(run.stderr);
  return { code: run.status, stderr: run.stderr, maxRssMiB: Number(rss?.[1]) / 1024 };
}

describe("prepare on huge rows", () => {
  it("keeps its peak memory under 150 MiB + 2 × the budget + 10 × the largest record", () => {
    const budget = 16;
    const maxRecord = 24;
    const dir = workspace("memory", { memoryBudgetMiB: budget, maxRecordMiB: maxRecord });
    const file = openSync(join(dir, "work", "export", "src_items.csv"), "w");
    const expected: string[] = [];
    try {
      writeSync(file, "id;data;note\n");
      const unquoted = "x".repeat(20 * MiB);
      // A quoted field of line breaks, separators and doubled quotes: 22 Mi characters in the file.
      const quoted = `"${'a"";\nb'.repeat((22 * MiB) / 6 - 1)}"`;
      for (let i = 0; i < 10; i++) {
        const key = `big${String(9 - i).padStart(2, "0")}`;
        writeSync(file, `${key};${i % 3 === 2 ? quoted : unquoted};n${i}\n`);
        expected.push(key);
        // Small rows between the large ones: several runs of the sort hold both kinds.
        const small: string[] = [];
        for (let k = 0; k < 20_000; k++) small.push(`s${i}-${(k * 7919) % 20_000};value ${k};é\n`);
        writeSync(file, small.join(""));
      }
    } finally {
      closeSync(file);
    }
    const run = prepare(dir);
    expect(run.code, run.stderr).toBe(0);
    // Latin-1 text of records up to maxRecord Mi characters (the quoted ones come close).
    const bound = 150 + 2 * budget + 10 * maxRecord;
    expect(run.maxRssMiB).toBeGreaterThan(0);
    expect(run.maxRssMiB).toBeLessThan(bound);
    // The output is whole: every large row, in key order, the quoted ones unescaped and written back alike.
    const sorted = readFileSync(join(dir, "work", "C", "Item.sorted.csv"), "latin1");
    const keys = [...sorted.matchAll(/^(big\d\d);/gm)].map((m) => m[1]);
    expect(keys).toEqual(expected.slice().sort());
    expect(sorted.length).toBe(readFileSync(join(dir, "work", "export", "src_items.csv"), "latin1").length);
  }, 120_000);

  it("refuses a record longer than prepare.maxRecordMiB with its file, line and column (exit 2)", () => {
    const dir = workspace("limit", { memoryBudgetMiB: 16, maxRecordMiB: 1 });
    const source = join(dir, "work", "export", "src_items.csv");
    writeFileSync(source, `id;data;note\na;1;x\nb;2;${"y".repeat(MiB + 10)}\nc;3;z\n`);
    const run = prepare(dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `CSV_RECORD_TOO_LARGE: Cannot parse "${source}" line 3, column 5: the record that starts on line 3 is longer than 1 Mi characters, the longest record accepted (prepare.maxRecordMiB); field 3 ("note"), which starts here, crosses the limit.`,
    );
  });
});
