/**
 * Seeded AD-like data for the benchmarks: 7 columns, about 100 bytes a row, 0.2 % empty
 * keys, 0.1 % duplicate keys, 2 % quoted fields, keys in random order; and the configuration
 * that reads it (`benchConfig`).
 */
import { createWriteStream, writeFileSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";

export const BENCH_HEADER = [
  "dn",
  "sAMAccountName",
  "displayName",
  "mail",
  "employeeID",
  "department",
  "whenCreated",
];

/** A small, fast, seeded generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEPARTMENTS = ["Finance", "HR", "IT", "Sales", "Marketing", "Legal", "Operations", "R&D"];

/** The row of person number `id` in generation `version` (a later version changes some values). */
export function benchRow(id: number, version: number, random: () => number): string[] {
  const sam = `u${id.toString(36).padStart(7, "0")}`;
  const quoted = random() < 0.02;
  const display = quoted ? `User "${sam}"; ext` : `User ${sam} ${DEPARTMENTS[id % 8] ?? ""}`;
  return [
    `CN=${sam},OU=Users,DC=corp,DC=example`,
    sam,
    display,
    `${sam}@corp.example.com`,
    String(100000 + id),
    DEPARTMENTS[(id + version) % 8] ?? "",
    `2026${String((id % 12) + 1).padStart(2, "0")}15120000.0Z`,
  ];
}

function csvLine(fields: readonly string[]): string {
  return `${fields.map((f) => (/[;"\n\r]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(";")}\n`;
}

/**
 * Writes `rows` rows. `changes` (0–1) makes this the "next" export of the same population:
 * that share of ids is updated, deleted or new, a third each.
 */
export async function writeBenchFile(
  path: string,
  rows: number,
  options: { seed: number; changes?: number },
): Promise<void> {
  const random = seededRandom(options.seed);
  const order = seededRandom(42);
  // A permutation of ids so that keys arrive in random order.
  const ids = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) ids[i] = i;
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(order() * (i + 1));
    const t = ids[i] as number;
    ids[i] = ids[j] as number;
    ids[j] = t;
  }
  const changes = options.changes ?? 0;
  // Which rows change comes from a generator of its own, and every row takes the same values
  // from `random` whether it changes or not: the two exports differ in exactly those rows.
  const change = seededRandom(options.seed ^ 0x5bd1e995);
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let chunk = csvLine(BENCH_HEADER);
  for (let i = 0; i < rows; i++) {
    let id = ids[i] as number;
    let version = 0;
    const r = change();
    if (r < changes / 3) version = 1;
    else if (r < changes) id += rows;
    const fields = benchRow(id, version, random);
    const special = random();
    if (special < 0.002) fields[0] = "";
    else if (special < 0.003)
      fields[0] = benchRow(ids[Math.floor(random() * rows)] as number, 0, random)[0] as string;
    // Deleted: the row's values were drawn all the same.
    if (r >= changes / 3 && r < (2 * changes) / 3) continue;
    chunk += csvLine(fields);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.write(chunk);
  out.end();
  await once(out, "finish");
}

/**
 * Writes `<dir>/syncup.yaml`: one connector, BENCH, whose csv connection reads
 * `<dir>/source/ad_entries.csv` into the entity type AD_Entry (every column a property, keyed
 * by dn). `database` is the repository's URL (default a SQLite file in `dir`);
 * `thresholdsOff` switches the connector's resource thresholds off, so that a "next" export
 * (`changes`), more than their defaults allow, is applied. Returns the file's path.
 */
export function benchConfig(
  dir: string,
  options: { database?: string; thresholdsOff?: boolean } = {},
): string {
  const properties = BENCH_HEADER.map((c) => `        ${c}: { type: string }`).join("\n");
  const mapped = BENCH_HEADER.map((c) => `          ${c}: ${c}`).join("\n");
  const off = ["Maximum", "MaxPercentage"].flatMap((p) =>
    ["Inserted", "Updated", "Deleted"].map((o) => `${p}${o}Lines: 0`),
  );
  const thresholds = options.thresholdsOff === true ? `\n    thresholds: { ${off.join(", ")} }` : "";
  const path = join(dir, "syncup.yaml");
  writeFileSync(
    path,
    `version: 1
workDir: ./work
exportDir: ./export
database: { url: ${JSON.stringify(options.database ?? "sqlite:./repo.db")} }
entityModel:
  entityTypes:
    AD_Entry:
      properties:
${properties}
connectors:
  BENCH:${thresholds}
    connections:
      ad: { type: csv, path: ./source, tables: { entries: { file: '^ad_entries\\.csv$' } } }
    entityTypeMappings:
      AD_Entry:
        table: ad_entries
        primaryKey: dn
        properties:
${mapped}
`,
  );
  return path;
}
