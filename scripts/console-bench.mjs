// npm run bench:console [-- --rows N]: the admin console's batch page on a batch of N staged
// changes (default 1,000,000) in a SQLite repository, end to end in Debian's Chromium: from the
// address typed to the first page of changes on screen (median of 5). Needs `npm run build`.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { chromium } from "playwright-core";
import { parse, stringify } from "yaml";
import { loadConfig } from "../dist/config/load.js";
import { hashSecret } from "../dist/protocol/secret-hash.js";
import { startServer } from "../dist/server/server.js";
import { openStore } from "../dist/store/store.js";

const root = resolve(import.meta.dirname, "..");
const rowsAt = process.argv.indexOf("--rows");
const ROWS = rowsAt > 0 ? Number(process.argv[rowsAt + 1]) : 1_000_000;
const BATCH = "00000000-0000-4000-8000-00000000be0c";
const TOKEN = "bench-token";

const dir = mkdtempSync(join(tmpdir(), "syncup-console-bench-"));
try {
  cpSync(join(root, "examples", "quickstart"), dir, { recursive: true });
  const configPath = join(dir, "syncup.yaml");
  const raw = parse(readFileSync(configPath, "utf8"));
  raw.workDir = "./work";
  raw.database = { url: `sqlite:${join(dir, "bench.db")}` };
  raw.server = { port: 0, admins: { bench: { tokenHash: await hashSecret(TOKEN), role: "approver" } } };
  writeFileSync(configPath, stringify(raw));
  const config = await loadConfig(configPath, {});

  // A blocked complete of connector HR with ROWS staged changes: a third each inserts, updates, deletes.
  let started = performance.now();
  const store = await openStore(config.databaseUrl);
  await store.batches.create({
    id: BATCH,
    connector: "HR",
    mode: "complete",
    dryRun: false,
    forced: false,
    source: null,
    preparedAt: null,
    baseBatch: null,
  });
  await store.close();
  const db = new Database(join(dir, "bench.db"));
  const key = "printf('%07d', i)";
  const values = (shift) =>
    `'{"employeeId":"' || ${key} || '","lastName":"Name ' || i || '","department":"D' || ((i + ${shift}) % 40) || '"}'`;
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
    INSERT INTO UR_ResourcesChanges (batch_id, operation, entity_type, pk, hash, properties, before_properties, relinks, line)
    SELECT '${BATCH}', CASE i % 3 WHEN 0 THEN 'insert' WHEN 1 THEN 'update' ELSE 'delete' END, 'Person', ${key},
           'h' || i, CASE WHEN i % 3 = 2 THEN NULL ELSE ${values(0)} END, CASE WHEN i % 3 = 0 THEN NULL ELSE ${values(1)} END, 0, i
    FROM n`);
  db.exec("ANALYZE");
  db.close();
  const blocked = await openStore(config.databaseUrl);
  await blocked.batches.setState(BATCH, "blocked", { report: { thresholds: [], crossed: [] } }, "staging");
  await blocked.close();
  console.log(`staged ${ROWS.toLocaleString("en")} changes in ${Math.round(performance.now() - started)} ms`);

  const server = await startServer(config, { port: 0, log: pino({ level: "silent" }) });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.goto(`${server.url}/`);
    await page.getByLabel("Administrator name").fill("bench");
    await page.getByLabel("Token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    const times = [];
    for (let run = 0; run < 6; run++) {
      await page.goto("about:blank");
      started = performance.now();
      await page.goto(`${server.url}/#/batches/${BATCH}`);
      await page.locator("table.changes tbody tr").first().waitFor({ timeout: 60_000 });
      if (run > 0) times.push(performance.now() - started); // the first run warms the caches
    }
    times.sort((a, b) => a - b);
    console.log(
      `batch page, first page of changes on screen: ${Math.round(times[2])} ms (median of 5; min ${Math.round(times[0])}, max ${Math.round(times[4])})`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
