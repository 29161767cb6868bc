/**
 * The review benchmarks: paging through a batch of 1M staged changes (first page, the page
 * at 50 %, the last page, a key prefix, a selective key prefix near the end), on SQLite and
 * PostgreSQL. The changes are written by SQL straight into the change table; the pages are
 * read through the store, as the API reads them. Target: each page under 50 ms.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChangePageQuery } from "../protocol/api.js";
import { encodeCursor } from "../store/change-pages.js";
import { openStore, type Store } from "../store/store.js";
import type { BenchResult } from "./result.js";

const POSTGRES_URL = process.env["SYNCUP_BENCH_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const BATCH = "bench-review";

function pad(dialect: Store["dialect"], expression: string): string {
  return dialect === "sqlite" ? `printf('%07d', ${expression})` : `lpad(${expression}::text, 7, '0')`;
}

/** `rows` staged resource changes of one batch: a third each inserts, updates, deletes. */
async function stage(store: Store, rows: number, exec: (sql: string) => Promise<void>): Promise<void> {
  await store.batches.create({
    id: BATCH,
    connector: "BENCH",
    mode: "complete",
    dryRun: false,
    forced: false,
    source: null,
    preparedAt: null,
    baseBatch: null,
  });
  const key = `'cn=user' || ${pad(store.dialect, "i")} || ',ou=people'`;
  const after = `'{"dn":"' || ${key} || '","display":"User ' || i || '","department":"D' || (i % 40) || '"}'`;
  const before = `'{"dn":"' || ${key} || '","display":"User ' || i || '","department":"D' || ((i + 1) % 40) || '"}'`;
  const select = `SELECT '${BATCH}', CASE i % 3 WHEN 0 THEN 'insert' WHEN 1 THEN 'update' ELSE 'delete' END, 'Entry', ${key},
                         'h' || i, CASE WHEN i % 3 = 2 THEN NULL ELSE ${after} END,
                         CASE WHEN i % 3 = 0 THEN NULL ELSE ${before} END, 0, i`;
  const into = `INSERT INTO UR_ResourcesChanges (batch_id, operation, entity_type, pk, hash, properties, before_properties, relinks, line)`;
  await exec(
    store.dialect === "sqlite"
      ? `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) ${into} ${select} FROM n`
      : `${into} ${select} FROM generate_series(1, ${rows}) AS n(i)`,
  );
  await store.analyze(["UR_ResourcesChanges"]);
  // Blocked, with the report a staging writes (its counts per mapping give the totals).
  const third = (r: number) => Math.floor((rows + 3 - r) / 3);
  const mapping = {
    mapping: "Entry",
    kind: "entity",
    inserted: third(3),
    updated: third(1),
    deleted: third(2),
  };
  await store.batches.setState(BATCH, "blocked", { report: { mappings: [mapping] } }, "staging");
}

/** Median milliseconds of `n` runs of `fn` (after one run to warm the caches). */
async function timed(n: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

export async function benchReview(options: { rows: number; runs?: number }): Promise<BenchResult[]> {
  const { rows } = options;
  const runs = Math.max(5, options.runs ?? 5);
  const results: BenchResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), "syncup-bench-review-"));
  const schema = `syncup_bench_review_${process.pid}`;
  const targets: { name: string; url: string }[] = [
    { name: "SQLite", url: `sqlite:${join(dir, "review.db")}` },
    { name: "PostgreSQL", url: `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}schema=${schema}` },
  ];
  try {
    for (const target of targets) {
      process.stderr.write(`review bench: ${target.name}, ${rows.toLocaleString("en-US")} staged changes…\n`);
      const store = await openStore(target.url);
      try {
        const { PostgresDriver } = await import("../store/postgres/driver.js");
        const { SqliteDriver } = await import("../store/sqlite/driver.js");
        const driver =
          store.dialect === "sqlite" ? SqliteDriver.open(target.url) : await PostgresDriver.open(target.url);
        try {
          await stage(store, rows, (sql) => driver.run(sql).then(() => undefined));
        } finally {
          await driver.close();
        }
        const page = (query: Partial<ChangePageQuery>) => () =>
          store.changePages.page(BATCH, { limit: 50, ...query });
        const half = Math.floor(rows / 2);
        const cases: [string, () => Promise<unknown>][] = [
          ["first page (with the total)", page({})],
          ["page at 50 %", page({ after: encodeCursor({ segment: 0, value: half }) })],
          ["last page", page({ after: encodeCursor({ segment: 0, value: rows - 25 }) })],
          ["first page of a key prefix (10 % of the keys)", page({ keyPrefix: "cn=user05" })],
          ["first page of the deletes", page({ operation: "delete" })],
          [
            "first page of a key prefix near the end (0.1 %)",
            page({
              keyPrefix: `cn=user${String(rows - 1)
                .padStart(7, "0")
                .slice(0, 4)}`,
            }),
          ],
        ];
        for (const [what, fn] of cases) {
          const ms = await timed(runs, fn);
          results.push({
            task: `review: ${what}, ${target.name}, ${rows.toLocaleString("en-US")} staged changes`,
            rows: 50,
            oursSeconds: ms / 1000,
            reference: null,
            referenceSeconds: null,
            peakRssMiB: null,
            target: "< 0.050 s",
          });
        }
      } finally {
        await store.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const { default: pg } = await import("pg");
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
  return results;
}
