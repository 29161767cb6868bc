/**
 * `npm run bench`: our code beside the reference tools on the same data, in the same run.
 * Prints medians, ratios, rows/s and peak RSS, and writes the table to BENCHMARKS.md.
 *
 *   npm run bench                      100k and 1M rows
 *   npm run bench -- --huge            also 10M rows (prepare, repository, `syncup run`: over an hour)
 *   npm run bench -- --sizes 100000    chosen sizes
 *   npm run bench -- --runs 5          runs per measurement (median)
 *   npm run bench -- --no-sync         skip the repository benchmarks
 *   npm run bench -- --sync-rows N     resources of the repository benchmarks (default: the largest size)
 *   npm run bench -- --no-review       skip the review benchmarks (pages of 1M staged changes)
 *   npm run bench -- --review-rows N   staged changes of the review benchmarks (default 1M)
 *   npm run bench -- --no-feed         skip the change feed benchmarks (feed on beside off, pull API)
 *   npm run bench -- --feed-rows N     resources of the change feed benchmarks (default: the largest size)
 *   npm run bench -- --no-incremental  of prepare, the complete only (no incremental, no delta)
 *   npm run bench -- --no-run          skip the end-to-end benchmarks of `syncup run` (initial, complete)
 *   npm run bench -- --run-rows N      rows of the `syncup run` benchmarks (default: the largest size)
 *   npm run bench -- --no-write        print the table only, leave BENCHMARKS.md as it is
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH_HEADER, benchConfig, writeBenchFile } from "./generate.js";
import { childJson, fmtRows, median, type BenchResult, type SizeResult } from "./result.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const child = join(root, "dist", "bench", "child.js");
const duckdbSort = join(root, "dist", "bench", "duckdb-sort.js");

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(option("--runs") ?? 3);
const sizes = (option("--sizes") ?? "100000,1000000").split(",").map(Number);
if (process.argv.includes("--huge")) sizes.push(10_000_000);
const benchDir = resolve(option("--dir") ?? join(root, ".bench"));

/**
 * Runs a task of ours in a child process `runs` times: median seconds of the whole process
 * (start, imports and exit included, as the reference tools are timed) and the largest peak RSS.
 */
function ours(
  task: string,
  args: string[],
  before?: () => void,
  times: number[] = [],
  count = runs,
): { seconds: number; rss: number } {
  let rss = 0;
  for (let i = 0; i < count; i++) {
    before?.();
    const started = performance.now();
    const result = childJson<{ maxRssMiB: number }>(child, [task, ...args], "pipe");
    times.push((performance.now() - started) / 1000);
    rss = Math.max(rss, result.maxRssMiB);
  }
  return { seconds: median(times), rss };
}

/** Times a shell command (the reference tools) `count` times; median seconds (all in `times`). */
function reference(command: string, times: number[] = [], count = runs): number {
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const result = spawnSync("bash", ["-c", command], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, LC_ALL: "C" },
    });
    if (result.status !== 0) throw new Error(`reference command failed: ${command}`);
    times.push((performance.now() - started) / 1000);
  }
  return median(times);
}

async function benchFiles(rows: number): Promise<BenchResult[]> {
  const dir = join(benchDir, `files-${rows}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "export"), { recursive: true });
  const config = benchConfig(dir);
  const first = join(dir, "first.csv");
  const next = join(dir, "next.csv");
  process.stderr.write(`generating ${fmtRows(rows)} rows…\n`);
  await writeBenchFile(first, rows, { seed: 1 });
  const incremental = !process.argv.includes("--no-incremental");
  if (incremental) await writeBenchFile(next, rows, { seed: 1, changes: 0.01 });
  const exported = join(dir, "export", "ad_entries.csv");
  const results: BenchResult[] = [];

  // prepare (complete) vs GNU sort of the same file
  cpSync(first, exported);
  // Taken in turns, so that a slower minute of the machine weighs on all three alike.
  const times = { prepare: [] as number[], sort: [] as number[], duckdb: [] as number[] };
  let prepareRss = 0;
  for (let i = 0; i < runs; i++) {
    prepareRss = Math.max(
      prepareRss,
      ours("prepare-complete", [config, "BENCH"], undefined, times.prepare, 1).rss,
    );
    reference(`sort -t';' -k1,1 -o ${dir}/ref-first.sorted ${first}`, times.sort, 1);
    reference(
      `${process.execPath} ${duckdbSort} ${first} ${dir}/ref-first.duckdb.csv ${BENCH_HEADER[0] ?? ""}`,
      times.duckdb,
      1,
    );
  }
  const prepare = { seconds: median(times.prepare), rss: prepareRss };
  const sortSeconds = median(times.sort);
  const duckdbSeconds = median(times.duckdb);
  const task = `prepare (complete), ${fmtRows(rows)} rows`;
  results.push({
    task,
    rows,
    oursSeconds: prepare.seconds,
    reference: "LC_ALL=C sort -t';' -k1,1",
    referenceSeconds: sortSeconds,
    peakRssMiB: prepare.rss,
    target: "≤ 2.5×",
  });
  results.push({
    task,
    rows,
    oursSeconds: prepare.seconds,
    reference: "DuckDB, 1 thread: CSV ORDER BY key to CSV",
    referenceSeconds: duckdbSeconds,
    peakRssMiB: prepare.rss,
    target: "≤ 1×",
  });
  if (!incremental) {
    rmSync(dir, { recursive: true, force: true });
    return results;
  }

  // incremental prepare (sort + delta against previous/) vs sort + comm -3
  ours("accept", [config, "BENCH"]);
  const sortedFirst = join(dir, "first.sorted.csv");
  cpSync(join(dir, "work", "BENCH", "AD_Entry.sorted.csv"), sortedFirst);
  cpSync(next, exported);
  const prepareIncremental = ours("prepare-incremental", [config, "BENCH"]);
  const sortedNext = join(dir, "next.sorted.csv");
  cpSync(join(dir, "work", "BENCH", "AD_Entry.sorted.csv"), sortedNext);
  reference(`sort -o ${dir}/ref-first.lines ${sortedFirst}; sort -o ${dir}/ref-next.lines ${sortedNext}`);
  const commSeconds = reference(`comm -3 ${dir}/ref-first.lines ${dir}/ref-next.lines > ${dir}/ref.delta`);
  const sortNextSeconds = reference(`sort -t';' -k1,1 -o ${dir}/ref-next.sorted ${next}`);
  results.push({
    task: `prepare (incremental: sort + delta), ${fmtRows(rows)} rows`,
    rows,
    oursSeconds: prepareIncremental.seconds,
    reference: "sort -k1,1 + comm -3",
    referenceSeconds: sortNextSeconds + commSeconds,
    peakRssMiB: prepareIncremental.rss,
    target: "—",
  });
  const delta = ours("delta-only", [sortedFirst, sortedNext, join(dir, "delta.csv")]);
  results.push({
    task: `delta of two sorted files, ${fmtRows(rows)} rows`,
    rows,
    oursSeconds: delta.seconds,
    reference: "LC_ALL=C comm -3",
    referenceSeconds: commSeconds,
    peakRssMiB: delta.rss,
    target: "≤ 3×",
  });
  rmSync(dir, { recursive: true, force: true });
  return results;
}

function renderMarkdown(results: readonly BenchResult[]): string {
  const head =
    "| task | ours (median s) | CPU (median s) | reference | reference (median s) | ratio | rows/s | peak RSS (MiB) | target |";
  const lines = results.map((r) => {
    const ratio = r.referenceSeconds === null ? "—" : `${(r.oursSeconds / r.referenceSeconds).toFixed(2)}×`;
    return `| ${r.task} | ${r.oursSeconds.toFixed(3)} | ${r.cpuSeconds?.toFixed(3) ?? "—"} | ${r.reference ?? "—"} | ${r.referenceSeconds === null ? "—" : r.referenceSeconds.toFixed(3)} | ${ratio} | ${Math.round(r.rows / r.oursSeconds).toLocaleString("en-US")} | ${r.peakRssMiB === null ? "—" : r.peakRssMiB.toFixed(0)} | ${r.target} |`;
  });
  return [head, "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |", ...lines].join("\n");
}

function renderSizes(sizes: readonly SizeResult[]): string {
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const lines = sizes.map(
    (s) =>
      `| ${s.task} | ${mib(s.oursBytes)} | ${s.reference} | ${mib(s.referenceBytes)} | ${(s.oursBytes / s.referenceBytes).toFixed(2)}× | ${Math.round(s.oursBytes / s.resources)} | ${s.target} |`,
  );
  return [
    "| store (tables and indexes) | ours (MiB) | reference | reference (MiB) | ratio | ours, bytes per resource | target |",
    "| --- | ---: | --- | ---: | ---: | ---: | --- |",
    ...lines,
  ].join("\n");
}

async function main(): Promise<void> {
  mkdirSync(benchDir, { recursive: true });
  const results: BenchResult[] = [];
  const stored: SizeResult[] = [];
  for (const rows of sizes) results.push(...(await benchFiles(rows)));
  if (!process.argv.includes("--no-sync")) {
    const { benchSync } = await import("./sync.js");
    const syncRows = Number(option("--sync-rows") ?? Math.max(...sizes));
    results.push(...(await benchSync({ rows: syncRows, dir: join(benchDir, "sync"), sizes: stored })));
  }
  if (!process.argv.includes("--no-review")) {
    const { benchReview } = await import("./review.js");
    results.push(
      ...(await benchReview({ rows: Number(option("--review-rows") ?? 1_000_000), runs: Math.max(runs, 5) })),
    );
  }
  if (!process.argv.includes("--no-feed")) {
    const { benchFeed } = await import("./feed.js");
    const feedRows = Number(option("--feed-rows") ?? Math.max(...sizes));
    results.push(
      ...(await benchFeed({ rows: feedRows, dir: join(benchDir, "feed"), runs: Math.max(runs, 4) })),
    );
  }
  if (!process.argv.includes("--no-run")) {
    const { benchRun } = await import("./run.js");
    const runRows = Number(option("--run-rows") ?? Math.max(...sizes));
    results.push(...(await benchRun({ rows: runRows, dir: join(benchDir, "run"), runs })));
  }
  const table = `${renderMarkdown(results)}${stored.length === 0 ? "" : `\n\n${renderSizes(stored)}`}`;
  process.stdout.write(`${table}\n`);
  if (process.argv.includes("--no-write")) return;
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const body = `# Benchmarks

Produced by \`npm run bench -- ${process.argv.slice(2).join(" ")}\` on ${new Date().toISOString().slice(0, 10)}: ${machine}.
Each figure is the median of ${runs} runs; our code and the reference tool run on the same
generated data in the same run (seeded AD-like rows: 7 columns, about 100 bytes a row,
0.2 % empty keys, 0.1 % duplicate keys, 2 % quoted fields; the "next" export changes 1 % of
the rows). The ratio is ours ÷ reference: lower is better. Peak RSS is the whole Node.js
process of our task, measured in a child process of its own. CPU is the user + system seconds
of the \`syncup run\` process tree, from GNU time, where measured.

${table}
`;
  writeFileSync(join(root, "BENCHMARKS.md"), body);
}

await main();
