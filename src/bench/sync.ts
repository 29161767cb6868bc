/**
 * Repository benchmarks, on SQLite and PostgreSQL in the same run, each task of ours in a child
 * process of its own (for its peak RSS):
 *
 * - initial load of N resources and 2N links, beside `sqlite3 .import` / `psql \copy` of the
 *   same rows into plain keyed tables, and beside the database writing the rows our load
 *   stored into an empty repository (the floor of the repository's schema, see `floor`);
 * - complete synchronization of an export with 1 % of its resources changed, beside the same
 *   comparison done in SQL: the new rows loaded into a staging table and FULL JOINed;
 * - incremental synchronization of 10k changes, beside the database's own client applying the
 *   same net changes to the keyed tables (`applyDelta`).
 *
 * Usage (after `npm run build`): `node dist/bench/sync.js [rows]`, or through `npm run bench`.
 * PostgreSQL: $SYNCUP_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test
 * (schemas syncup_bench_*, dropped at the end).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseConfig } from "../config/load.js";
import { deferredIndexes } from "../store/deferred-indexes.js";
import { openStore } from "../store/store.js";
import { synchronize } from "../sync/synchronize.js";
import { childJson, median, type BenchResult, type SizeResult } from "./result.js";
import { ENTRY_COLUMNS, generateSyncBench } from "./sync-data.js";

const POSTGRES_URL = process.env["SYNCUP_BENCH_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const self = fileURLToPath(import.meta.url);

/** The prepared files are written by `sync-data.ts`; the feed benchmark reads the same ones. */
export { generateSyncBench };

/** One task of ours, in this process: `node sync.js sync-child <url> <configFile> <mode> <dir>`. */
async function child(
  url: string,
  configFile: string,
  mode: "initial" | "complete" | "incremental",
  dir: string,
): Promise<void> {
  const config = parseConfig(readFileSync(configFile, "utf8"), {
    file: configFile,
    label: configFile,
    env: {},
  });
  const store = await openStore(url);
  const started = performance.now();
  try {
    const report = await synchronize({ store, config, connector: "BENCH", mode, dir });
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `${JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, state: report.state, resources: report.resources, links: report.links })}\n`,
    );
  } finally {
    await store.close();
  }
}

/** A complete dry run, then its before-image capture timed again: `{ seconds, capture }`. */
async function captureChild(url: string, configFile: string, dir: string): Promise<void> {
  const config = parseConfig(readFileSync(configFile, "utf8"), {
    file: configFile,
    label: configFile,
    env: {},
  });
  const store = await openStore(url);
  try {
    const started = performance.now();
    const report = await synchronize({
      store,
      config,
      connector: "BENCH",
      mode: "complete",
      dir,
      dryRun: true,
    });
    const seconds = (performance.now() - started) / 1000;
    const before = performance.now();
    await store.journal.captureBefore(report.batchId);
    const capture = (performance.now() - before) / 1000;
    await store.batches.setState(report.batchId, "cancelled", {}, "previewed");
    await store.changes.discard(report.batchId);
    process.stdout.write(`${JSON.stringify({ seconds, capture })}\n`);
  } finally {
    await store.close();
  }
}

/** One synchronization in a child process of its own: its seconds and peak RSS. */
export function runChild(
  url: string,
  configFile: string,
  mode: string,
  dir: string,
): { seconds: number; rss: number } {
  const result = childJson<{ seconds: number; maxRssMiB: number; state: string }>(self, [
    "sync-child",
    url,
    configFile,
    mode,
    dir,
  ]);
  if (result.state !== "applied") throw new Error(`benchmark ${mode} ended ${result.state}`);
  return { seconds: result.seconds, rss: result.maxRssMiB };
}

function shell(command: string): number {
  const started = performance.now();
  const result = spawnSync("bash", ["-c", command], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, LC_ALL: "C" },
  });
  if (result.status !== 0) throw new Error(`reference command failed: ${command}`);
  return (performance.now() - started) / 1000;
}

const fmt = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);

interface Dialect {
  name: "SQLite" | "PostgreSQL";
  /** A fresh, empty repository. */
  fresh(): string;
  /** Runs an SQL script with the reference CLI against a database of its own. */
  reference(script: string): number;
  /** The reference CLI's bulk load of a CSV file into a table. */
  load(table: string, file: string): string;
  /**
   * Seconds the database takes to write the resources and links stored in the repository at
   * `source` into `target`, an empty repository (migrated): the indexes a first load defers
   * dropped, the rows in, those indexes built — what our load writes, the way it writes it,
   * with nothing to read, translate or resolve. Removes `target` after.
   */
  floor(source: string, target: string): number;
  /**
   * Bytes on disk of `tables` with their indexes: of the repository at `url`, or of the
   * reference's database when `url` is null. SQLite: the pages `dbstat` counts; PostgreSQL:
   * `pg_total_relation_size` (heap, TOAST and indexes).
   */
  bytes(url: string | null, tables: readonly string[]): number;
  cleanup(): void;
}

/** The repository tables an initial load writes, in the order they are written. */
const LOADED_TABLES = ["UR_Resources", "UR_ResourceLinks"] as const;
const LOADED_ORDER = { UR_Resources: "id", UR_ResourceLinks: "connector, association, key1, key2" };
const LOADED_COUNT = `SELECT ${LOADED_TABLES.map((t) => `(SELECT COUNT(*) FROM ${t})`).join(" || ' ' || ")}`;

function sameCounts(source: string, target: string): void {
  if (source !== target) throw new Error(`floor: rows written ${target.trim()}, stored ${source.trim()}`);
}

function sqliteDialect(dir: string): Dialect {
  let n = 0;
  const refDb = join(dir, "reference.sqlite");
  return {
    name: "SQLite",
    fresh: () => {
      const path = join(dir, `repo-${++n}.sqlite`);
      rmSync(path, { force: true });
      return `sqlite:${path}`;
    },
    reference: (script) => {
      const file = join(dir, "reference.sql");
      writeFileSync(file, script);
      return shell(`sqlite3 ${refDb} < ${file}`);
    },
    load: (table, file) => `.mode csv\n.separator ";"\n.import --skip 1 ${file} ${table}`,
    floor: (source, target) => {
      // INSERT … SELECT from the repository itself: `.import` cannot write a NULL (an empty
      // cell becomes ''), and would add the parsing of the CSV.
      const from = source.slice("sqlite:".length);
      const into = target.slice("sqlite:".length);
      const count = (db: string) => execFileSync("sqlite3", [db, LOADED_COUNT], { encoding: "utf8" });
      const deferred = deferredIndexes("sqlite");
      shell(`sqlite3 -bail ${into} <<'SQL'\n${deferred.map((d) => `${d.drop};`).join("\n")}\nSQL`);
      try {
        // The journal and cache our load's transaction has (see `SqliteDriver.transaction`).
        const seconds = shell(`sqlite3 -bail ${into} <<'SQL'
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = FULL;
PRAGMA cache_size = -32768;
ATTACH '${from}' AS source;
BEGIN;
${LOADED_TABLES.map((t) => `INSERT INTO main.${t} SELECT * FROM source.${t} ORDER BY ${LOADED_ORDER[t]};`).join("\n")}
COMMIT;
${deferred.map((d) => `${d.build};`).join("\n")}
SQL`);
        sameCounts(count(from), count(into));
        return seconds;
      } finally {
        rmSync(into, { force: true });
      }
    },
    bytes: (url, tables) => {
      const names = tables.map((t) => `'${t.toLowerCase()}'`).join(", ");
      const sql = `SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema WHERE lower(tbl_name) IN (${names}))`;
      const db = url === null ? refDb : url.slice("sqlite:".length);
      return Number(execFileSync("sqlite3", [db, sql], { encoding: "utf8" }).trim());
    },
    cleanup: () => rmSync(refDb, { force: true }),
  };
}

function postgresDialect(dir: string): Dialect {
  const tag = `syncup_bench_${process.pid}`;
  const schemas: string[] = [];
  const psql = (sql: string) =>
    shell(
      `PGOPTIONS='-c client_min_messages=warning' psql -q -v ON_ERROR_STOP=1 "${POSTGRES_URL}" <<'SQL'\n${sql}\nSQL`,
    );
  return {
    name: "PostgreSQL",
    fresh: () => {
      const schema = `${tag}_${schemas.length + 1}`;
      schemas.push(schema);
      return `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}schema=${schema}`;
    },
    reference: (script) =>
      psql(`CREATE SCHEMA IF NOT EXISTS ${tag}_ref; SET search_path TO ${tag}_ref;\n${script}`),
    load: (table, file) => `\\copy ${table} FROM '${file}' WITH (FORMAT csv, DELIMITER ';', HEADER true)`,
    floor: (source, target) => {
      // The stored rows through CSV files (COPY's CSV keeps NULL and '' apart), with the
      // memory our load's transaction sets for its sorts and index builds.
      const schemaOf = (url: string) => new URL(url).searchParams.get("schema") ?? "public";
      const from = schemaOf(source);
      const into = schemaOf(target);
      const count = (schema: string) =>
        execFileSync("psql", ["-Atq", POSTGRES_URL, "-c", `SET search_path TO ${schema}; ${LOADED_COUNT}`], {
          encoding: "utf8",
        });
      const dumps = LOADED_TABLES.map((t) => join(dir, `floor-${t}.csv`));
      const deferred = deferredIndexes("postgres");
      psql(
        [
          ...LOADED_TABLES.map(
            (t, i) => `\\copy (SELECT * FROM ${from}.${t} ORDER BY ${LOADED_ORDER[t]}) TO '${dumps[i]}' CSV`,
          ),
          `SET search_path TO ${into};`,
          ...deferred.map((d) => `${d.drop};`),
        ].join("\n"),
      );
      try {
        const seconds = psql(
          [
            `SET search_path TO ${into}; SET work_mem = '256MB'; SET maintenance_work_mem = '512MB';`,
            ...LOADED_TABLES.map((t, i) => `\\copy ${t} FROM '${dumps[i]}' CSV`),
            ...deferred.map((d) => `${d.build};`),
          ].join("\n"),
        );
        sameCounts(count(from), count(into));
        return seconds;
      } finally {
        psql(`DROP SCHEMA ${into} CASCADE;`);
        for (const dump of dumps) rmSync(dump, { force: true });
      }
    },
    bytes: (url, tables) => {
      const schema = url === null ? `${tag}_ref` : (new URL(url).searchParams.get("schema") ?? "public");
      const names = tables.map((t) => `'${t.toLowerCase()}'`).join(", ");
      const sql = `SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = '${schema}' AND c.relkind = 'r' AND c.relname IN (${names})`;
      return Number(execFileSync("psql", ["-Atq", POSTGRES_URL, "-c", sql], { encoding: "utf8" }).trim());
    },
    cleanup: () => {
      psql([...schemas, `${tag}_ref`].map((s) => `DROP SCHEMA IF EXISTS ${s} CASCADE;`).join("\n"));
    },
  };
}

/** See the file's comment. `rows`: resources of the initial load (links: twice as many). */
export async function benchSync(options: {
  rows: number;
  dir: string;
  runs?: number;
  /** Receives the repository's size beside the reference's keyed tables, per database. */
  sizes?: SizeResult[];
}): Promise<BenchResult[]> {
  const { rows } = options;
  const runs = options.runs ?? (rows >= 1_000_000 ? 1 : 3);
  process.stderr.write(`sync bench: generating ${fmt(rows)} resources…\n`);
  const generated = await generateSyncBench(rows, resolve(options.dir));
  const { dir } = generated;
  const results: BenchResult[] = [];
  for (const dialect of [sqliteDialect(dir), postgresDialect(dir)]) {
    try {
      results.push(...(await bench(dialect, { rows, runs, sizes: options.sizes ?? [], ...generated })));
    } finally {
      dialect.cleanup();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return results;
}

async function bench(
  dialect: Dialect,
  o: {
    rows: number;
    runs: number;
    dir: string;
    configFile: string;
    firstDir: string;
    nextDir: string;
    changes: number;
    sizes: SizeResult[];
  },
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const label = `${dialect.name}, ${fmt(o.rows)} resources + ${fmt(2 * o.rows)} links`;
  process.stderr.write(`sync bench: ${label}: initial…\n`);
  const initial: number[] = [];
  let rss = 0;
  let url = "";
  for (let r = 0; r < o.runs; r++) {
    url = dialect.fresh();
    const run = runChild(url, o.configFile, "initial", o.firstDir);
    initial.push(run.seconds);
    rss = Math.max(rss, run.rss);
  }
  const tables = `DROP TABLE IF EXISTS ref_entries; DROP TABLE IF EXISTS ref_members; DROP TABLE IF EXISTS ref_managers;
CREATE TABLE ref_entries (${ENTRY_COLUMNS.map((c) => `${c} TEXT`).join(", ")}, PRIMARY KEY (dn));
CREATE TABLE ref_members ("group" TEXT, member TEXT, PRIMARY KEY ("group", member));
CREATE TABLE ref_managers (dn TEXT, manager TEXT, PRIMARY KEY (dn, manager));
`;
  const loadFirst = [
    dialect.load("ref_entries", join(o.firstDir, "Entry.sorted.csv")),
    dialect.load("ref_members", join(o.firstDir, "Members.sorted.csv")),
    dialect.load("ref_managers", join(o.firstDir, "Manager.sorted.csv")),
  ].join("\n");
  const referenceInitial = median(
    Array.from({ length: o.runs }, () => dialect.reference(`${tables}\n${loadFirst}\n`)),
  );
  // The repository as the last initial load left it, beside the reference's keyed tables.
  o.sizes.push({
    task: `repository after the initial load, ${label}`,
    resources: o.rows,
    oursBytes: dialect.bytes(url, LOADED_TABLES),
    reference: `the ${dialect.name === "SQLite" ? "sqlite3 .import" : "psql \\copy"} keyed tables (3), with their primary keys`,
    referenceBytes: dialect.bytes(null, ["ref_entries", "ref_members", "ref_managers"]),
    target: "≤ 2×",
  });
  results.push({
    task: `sync initial, ${label}`,
    rows: 3 * o.rows,
    oursSeconds: median(initial),
    reference:
      dialect.name === "SQLite" ? "sqlite3 .import (3 keyed tables)" : "psql \\copy (3 keyed tables)",
    referenceSeconds: referenceInitial,
    peakRssMiB: rss,
    target: dialect.name === "SQLite" ? "≤ 1.5×" : "≤ 2×",
  });
  // No target: the least that any initial load into the repository's schema can cost (`Dialect.floor`).
  const floors: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const target = dialect.fresh();
    await (await openStore(target)).close();
    floors.push(dialect.floor(url, target));
  }
  const floor = median(floors);
  results.push({
    task: `sync initial, ${label}, beside the database writing the rows it stored`,
    rows: 3 * o.rows,
    oursSeconds: median(initial),
    reference:
      dialect.name === "SQLite"
        ? "sqlite3: the stored rows INSERT … SELECT into an empty repository, the indexes a first load defers built after"
        : "psql: \\copy of the stored rows into an empty repository, the indexes a first load defers built after",
    referenceSeconds: floor,
    peakRssMiB: rss,
    target: "—",
  });

  // complete, 1 % changed: first → next, then next → first (also 1 %), alternately
  process.stderr.write(`sync bench: ${label}: complete…\n`);
  const complete: number[] = [];
  rss = 0;
  const runs = o.runs % 2 === 0 ? o.runs : o.runs + 1;
  for (let r = 0; r < runs; r++) {
    const run = runChild(url, o.configFile, "complete", r % 2 === 0 ? o.nextDir : o.firstDir);
    complete.push(run.seconds);
    rss = Math.max(rss, run.rss);
  }
  // The same three files ours compares: entries, members and managers.
  const compare = `DROP TABLE IF EXISTS stage_entries; DROP TABLE IF EXISTS stage_members; DROP TABLE IF EXISTS stage_managers;
CREATE TABLE stage_entries (${ENTRY_COLUMNS.map((c) => `${c} TEXT`).join(", ")}, PRIMARY KEY (dn));
CREATE TABLE stage_members ("group" TEXT, member TEXT, PRIMARY KEY ("group", member));
CREATE TABLE stage_managers (dn TEXT, manager TEXT, PRIMARY KEY (dn, manager));
${dialect.load("stage_entries", join(o.nextDir, "Entry.sorted.csv"))}
${dialect.load("stage_members", join(o.nextDir, "Members.sorted.csv"))}
${dialect.load("stage_managers", join(o.nextDir, "Manager.sorted.csv"))}
SELECT COUNT(*) FROM stage_entries s FULL JOIN ref_entries b ON s.dn = b.dn
 WHERE s.dn IS NULL OR b.dn IS NULL OR ${ENTRY_COLUMNS.slice(1)
   .map((c) => `s.${c} <> b.${c}`)
   .join(" OR ")};
SELECT COUNT(*) FROM stage_members s FULL JOIN ref_members b ON s."group" = b."group" AND s.member = b.member
 WHERE s."group" IS NULL OR b."group" IS NULL;
SELECT COUNT(*) FROM stage_managers s FULL JOIN ref_managers b ON s.dn = b.dn AND s.manager = b.manager
 WHERE s.dn IS NULL OR b.dn IS NULL;
`;
  const referenceComplete = median(Array.from({ length: o.runs }, () => dialect.reference(compare)));
  results.push({
    task: `sync complete, 1 % changed, ${label}`,
    rows: 3 * o.rows,
    oursSeconds: median(complete),
    reference: `${dialect.name === "SQLite" ? "sqlite3 .import" : "psql \\copy"} into staging + FULL JOIN (compare only)`,
    referenceSeconds: referenceComplete,
    peakRssMiB: rss,
    target: "≤ 1.2×",
  });

  // What the before-images cost a complete: a dry run keeps its staged changes, whose capture
  // is then timed again (the same UPDATE on the same rows).
  const capture = childJson<{ seconds: number; capture: number }>(self, [
    "capture-child",
    url,
    o.configFile,
    o.nextDir,
  ]);
  results.push({
    task: `sync complete, 1 % changed: its before-images, ${label}`,
    rows: 3 * o.rows,
    oursSeconds: capture.capture,
    reference: "the rest of the same complete (dry run)",
    referenceSeconds: capture.seconds - capture.capture,
    peakRssMiB: null,
    target: "≤ 0.10×",
  });

  process.stderr.write(`sync bench: ${label}: incremental…\n`);
  const incremental: number[] = [];
  rss = 0;
  for (let r = 0; r < runs; r++) {
    const run = runChild(url, o.configFile, "incremental", join(o.dir, r % 2 === 0 ? "forward" : "backward"));
    incremental.push(run.seconds);
    rss = Math.max(rss, run.rss);
  }
  // The same net changes applied by the database's own client to the keyed tables (which hold
  // `first`): forward and backward alternately, as ours.
  const referenceIncremental = median(
    Array.from({ length: runs }, (_, r) =>
      dialect.reference(applyDelta(dialect, join(o.dir, r % 2 === 0 ? "forward" : "backward"))),
    ),
  );
  results.push({
    task: `sync incremental, ${fmt(o.changes)} changes, ${dialect.name}, ${fmt(o.rows)} resources held`,
    rows: o.changes,
    oursSeconds: median(incremental),
    reference: `${dialect.name === "SQLite" ? "sqlite3" : "psql"}: the delta files loaded into temporary tables, then keyed upserts and deletes, in one transaction`,
    referenceSeconds: referenceIncremental,
    peakRssMiB: rss,
    target: "≤ 2×",
  });
  return results;
}

/**
 * The incremental's anchor: the three delta files of `dir` (a `command` column, then the row)
 * loaded into temporary tables and applied to the keyed tables — deletes by key, then inserts
 * and updates as upserts — in one transaction.
 */
function applyDelta(dialect: Dialect, dir: string): string {
  const sqlite = dialect.name === "SQLite";
  const temporary = (name: string, columns: string[]) =>
    `CREATE TEMPORARY TABLE ${name} (command TEXT, ${columns.map((c) => `${c} TEXT`).join(", ")});`;
  const deleteBy = (table: string, delta: string, keys: string[]) =>
    sqlite
      ? `DELETE FROM ${table} WHERE (${keys.join(", ")}) IN (SELECT ${keys.join(", ")} FROM ${delta} WHERE command = 'delete');`
      : `DELETE FROM ${table} t USING ${delta} d WHERE d.command = 'delete' AND ${keys.map((k) => `t.${k} = d.${k}`).join(" AND ")};`;
  const entryValues = ENTRY_COLUMNS.slice(1);
  return `${temporary("d_entries", ENTRY_COLUMNS)}
${temporary("d_members", ['"group"', "member"])}
${temporary("d_managers", ["dn", "manager"])}
BEGIN;
${dialect.load("d_entries", join(dir, "Entry.sorted.delta"))}
${dialect.load("d_members", join(dir, "Members.sorted.delta"))}
${dialect.load("d_managers", join(dir, "Manager.sorted.delta"))}
${deleteBy("ref_entries", "d_entries", ["dn"])}
${deleteBy("ref_members", "d_members", ['"group"', "member"])}
${deleteBy("ref_managers", "d_managers", ["dn", "manager"])}
INSERT INTO ref_entries SELECT ${ENTRY_COLUMNS.join(", ")} FROM d_entries WHERE command <> 'delete'
  ON CONFLICT (dn) DO UPDATE SET ${entryValues.map((c) => `${c} = excluded.${c}`).join(", ")};
INSERT INTO ref_members SELECT "group", member FROM d_members WHERE command = 'insert' ON CONFLICT DO NOTHING;
INSERT INTO ref_managers SELECT dn, manager FROM d_managers WHERE command = 'insert' ON CONFLICT DO NOTHING;
COMMIT;
DROP TABLE d_entries; DROP TABLE d_members; DROP TABLE d_managers;
`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, ...args] = process.argv.slice(2);
  if (command === "generate") {
    await generateSyncBench(Number(args[0]), resolve(args[1] ?? ".bench/sync"));
  } else if (command === "capture-child") {
    const [url, configFile, dir] = args as [string, string, string];
    await captureChild(url, configFile, dir);
  } else if (command === "sync-child") {
    const [url, configFile, mode, dir] = args as [
      string,
      string,
      "initial" | "complete" | "incremental",
      string,
    ];
    await child(url, configFile, mode, dir);
  } else {
    const rows = Number(command ?? 100_000);
    const sizes: SizeResult[] = [];
    const results = await benchSync({ rows, dir: resolve(".bench", "sync"), sizes });
    for (const r of results) {
      process.stdout.write(
        `${r.task}: ours ${r.oursSeconds.toFixed(2)} s${r.referenceSeconds === null ? "" : `, ${r.reference} ${r.referenceSeconds.toFixed(2)} s (${(r.oursSeconds / r.referenceSeconds).toFixed(2)}×)`}, peak RSS ${r.peakRssMiB?.toFixed(0) ?? "?"} MiB\n`,
      );
    }
    for (const s of sizes) {
      process.stdout.write(
        `${s.task}: ${(s.oursBytes / 2 ** 20).toFixed(1)} MiB, ${s.reference} ${(s.referenceBytes / 2 ** 20).toFixed(1)} MiB (${(s.oursBytes / s.referenceBytes).toFixed(2)}×)\n`,
      );
    }
  }
}
