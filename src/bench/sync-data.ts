/**
 * The repository benchmark's prepared files (`sync.ts`): two complete exports, `first` and
 * `next`, the incremental deltas from `first` to a third population and back, and the
 * configuration that reads them.
 *
 * They are written as they are generated, so that 10M resources cost little more memory than
 * 10k: a population is described, not listed (which resource numbers it holds, each one's
 * version), its rows are formatted one at a time for the CSV writer, and the only array as long
 * as an export is the order of its members (four bytes a link). A delta is worked out from the
 * few resources that differ between its two populations, never from all their links.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CsvFileWriter } from "../csv/writer.js";

export const ENTRY_COLUMNS = ["dn", "guid", "sam", "display", "mail", "department", "created", "uac"];

/**
 * The resources of one export: the numbers below `rows` that it `keeps`, then `added` new ones
 * numbered from `added.from` (never below `rows`), so that its resources in key order are
 * counted out rather than held.
 */
interface Population {
  readonly rows: number;
  /** Whether resource i (i < rows) is present. */
  readonly keeps: (i: number) => boolean;
  readonly added: { readonly from: number; readonly count: number };
  /** Version of each resource's values (changed resources get another). */
  readonly version: (id: number) => number;
}

/** The resource numbers of `population`, in key order (ascending). */
function* idsOf(population: Population): Generator<number> {
  for (let i = 0; i < population.rows; i++) if (population.keeps(i)) yield i;
  for (let k = 0; k < population.added.count; k++) yield population.added.from + k;
}

/** Whether resource `i` is in `population`. */
function has(population: Population, i: number): boolean {
  if (i < population.rows) return i >= 0 && population.keeps(i);
  const { from, count } = population.added;
  return i >= from && i < from + count;
}

/** One past the largest resource number `population` may hold. */
const endOf = (population: Population) =>
  Math.max(population.rows, population.added.from + population.added.count);

const dn = (i: number) => `CN=E${String(i).padStart(9, "0")},OU=Users,DC=corp,DC=example`;
const groupsOf = (n: number) => Math.max(10, Math.floor(n / 100));

/** An entry's values; a changed entry keeps its GUID (immutable in a directory), other values move. */
function entryRow(i: number, version: number): string[] {
  const hex = (i * 2654435761).toString(16).padStart(12, "0").slice(-12);
  return [
    dn(i),
    `${hex.slice(0, 8)}-0000-4000-8000-${hex}`,
    `e${i}`,
    `Entry ${i}${version > 0 ? ` (v${version})` : ""}`,
    `e${i}@example.com`,
    `Dept ${i % 37}`,
    `20${String(10 + (i % 15))}0${1 + (i % 9)}1${i % 10}120000.0Z`,
    String(512 + ((i + version) % 3) * 2),
  ];
}

/**
 * Members: every entry is in group i % G, even ones in group 7i % G too (1.5 links an entry).
 * This is the second group of entry `i`, or -1 when it has none.
 */
const otherGroup = (i: number, groups: number) =>
  i % 2 === 0 && (7 * i) % groups !== i % groups ? (7 * i) % groups : -1;

/**
 * The members of `population` in (group, member) order: a counting sort by group of its
 * entries, which come in key order and so stay in key order within each group. One
 * Uint32Array holds the members (resource numbers stay far below 2^32), another where each
 * group's members begin.
 */
function* memberRows(population: Population, groups: number): Generator<string[]> {
  const starts = new Uint32Array(groups + 1);
  for (const i of idsOf(population)) {
    bump(starts, (i % groups) + 1);
    const other = otherGroup(i, groups);
    if (other >= 0) bump(starts, other + 1);
  }
  for (let g = 0; g < groups; g++) starts[g + 1] = (starts[g + 1] as number) + (starts[g] as number);
  const members = new Uint32Array(starts[groups] as number);
  const next = starts.slice(0, groups);
  for (const i of idsOf(population)) {
    members[bump(next, i % groups)] = i;
    const other = otherGroup(i, groups);
    if (other >= 0) members[bump(next, other)] = i;
  }
  for (let g = 0; g < groups; g++) {
    const group = dn(g);
    const end = starts[g + 1] as number;
    for (let k = starts[g] as number; k < end; k++) yield [group, dn(members[k] as number)];
  }
}

/** `array[k]++`: adds one to `array[k]`, returning its value before. */
function bump(array: Uint32Array, k: number): number {
  const value = array[k] as number;
  array[k] = value + 1;
  return value;
}

/**
 * Manager (mono-valued): odd entries report to entry ⌊i/10⌋ (0.5 links an entry). This is the
 * manager of entry `i` in `population`, or -1 when it has none there (either end absent).
 */
function managerOf(population: Population, i: number): number {
  const manager = Math.floor(i / 10);
  return i % 2 === 1 && has(population, i) && has(population, manager) ? manager : -1;
}

async function writeCsv(
  path: string,
  header: string[],
  rows: Iterable<string[]>,
): Promise<{ rows: number; sha256: string }> {
  const writer = await CsvFileWriter.open(path, header);
  for (const row of rows) {
    const wait = writer.write(row);
    if (wait !== undefined) await wait;
  }
  const written = await writer.commit();
  return { rows: written.rows, sha256: written.sha256 };
}

interface PreparedEntry {
  mapping: string;
  kind: "sorted" | "delta";
  file: string;
  rows: number;
  sha256: string;
}

/** One prepared file of `mapping`, its rows written as `rows` yields them. */
async function prepared(
  dir: string,
  mapping: string,
  kind: "sorted" | "delta",
  header: string[],
  rows: Iterable<string[]>,
): Promise<PreparedEntry> {
  const file = `${mapping}.sorted.${kind === "sorted" ? "csv" : "delta"}`;
  return { mapping, kind, file, ...(await writeCsv(join(dir, file), header, rows)) };
}

/** The manifest a prepare writes (`protocol/manifest.ts`), for files written here. */
function writeManifest(dir: string, mode: string, files: PreparedEntry[]): void {
  writeFileSync(
    join(dir, "prepare.json"),
    JSON.stringify({
      connector: "BENCH",
      mode,
      preparedAt: new Date().toISOString(),
      deltaSource: mode === "incremental" ? "previous" : "none",
      baseBatch: null,
      files: files.map((f) => ({ ...f, bytes: statSync(join(dir, f.file)).size })),
      summaries: [],
    }),
  );
}

/** A complete export of `population` as prepared files in `dir`. */
async function writeSorted(dir: string, population: Population, groups: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  function* entries() {
    for (const i of idsOf(population)) yield entryRow(i, population.version(i));
  }
  function* managers() {
    for (const i of idsOf(population)) {
      const manager = managerOf(population, i);
      if (manager >= 0) yield [dn(i), dn(manager)];
    }
  }
  writeManifest(dir, "complete", [
    await prepared(dir, "Entry", "sorted", ENTRY_COLUMNS, entries()),
    await prepared(dir, "Members", "sorted", ["group", "member"], memberRows(population, groups)),
    await prepared(dir, "Manager", "sorted", ["dn", "manager"], managers()),
  ]);
}

/**
 * The `.sorted.delta` files taking `from` to `to` (resources and their links). A resource's
 * members depend on its presence only, and a manager link on the presence of its two ends: the
 * links that differ are those of the resources that come or go, and of their reports.
 */
async function writeDelta(dir: string, from: Population, to: Population, groups: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  // The resources that differ, in key order: present in one only, or in both with another version.
  const touched: number[] = [];
  for (let i = 0, end = Math.max(endOf(from), endOf(to)); i < end; i++) {
    const before = has(from, i);
    if (before !== has(to, i) || (before && from.version(i) !== to.version(i))) touched.push(i);
  }
  const entries = touched.map((i) =>
    !has(to, i)
      ? ["delete", dn(i), "", "", "", "", "", "", ""]
      : [has(from, i) ? "update" : "insert", ...entryRow(i, to.version(i))],
  );
  const moved = touched.filter((i) => has(from, i) !== has(to, i));
  const members: [string, number, number][] = [];
  for (const i of moved) {
    const command = has(to, i) ? "insert" : "delete";
    members.push([command, i % groups, i]);
    const other = otherGroup(i, groups);
    if (other >= 0) members.push([command, other, i]);
  }
  members.sort((x, y) => x[1] - y[1] || x[2] - y[2]);
  const reporting = new Set(moved.flatMap((m) => [m, ...Array.from({ length: 10 }, (_, k) => m * 10 + k)]));
  const managers: string[][] = [];
  for (const i of [...reporting].sort((a, b) => a - b)) {
    const [before, after] = [managerOf(from, i), managerOf(to, i)];
    if (before >= 0 && after < 0) managers.push(["delete", dn(i), dn(before)]);
    if (after >= 0 && before < 0) managers.push(["insert", dn(i), dn(after)]);
  }
  writeManifest(dir, "incremental", [
    await prepared(dir, "Entry", "delta", ["command", ...ENTRY_COLUMNS], entries),
    await prepared(
      dir,
      "Members",
      "delta",
      ["command", "group", "member"],
      members.map(([c, g, i]) => [c, dn(g), dn(i)]),
    ),
    await prepared(dir, "Manager", "delta", ["command", "dn", "manager"], managers),
  ]);
}

function configText(dir: string): string {
  return `version: 1
workDir: ${JSON.stringify(dir)}
entityModel:
  entityTypes:
    Entry:
      properties:
        dn: { type: string }
        guid: { type: guid }
        sam: { type: string }
        display: { type: string }
        mail: { type: string }
        department: { type: string }
        created: { type: date-time }
        uac: { type: int32 }
        members: { type: navigation, target: Entry }
        memberOf: { type: navigation, target: Entry }
        manager: { type: navigation, target: Entry, targetColumnIndex: 128 }
        reports: { type: navigation, target: Entry }
  associations:
    Members: { property1: Entry.members, property2: Entry.memberOf }
    Manager: { property1: Entry.manager, property2: Entry.reports }
connectors:
  BENCH:
    thresholds: { MaximumInsertedLines: 0, MaximumUpdatedLines: 0, MaximumDeletedLines: 0, MaximumLinkInsertedLines: 0, MaximumLinkDeletedLines: 0, MaxPercentageInsertedLines: 0, MaxPercentageUpdatedLines: 0, MaxPercentageDeletedLines: 0, MaxLinkPercentageInsertedLines: 0, MaxLinkPercentageDeletedLines: 0 }
    connections:
      ad: { type: csv, path: ./source, tables: { entries: { file: 'e' }, members: { file: 'm' }, managers: { file: 'g' } } }
    entityTypeMappings:
      Entry:
        table: ad_entries
        primaryKey: dn
        uniqueKeys: [guid]
        properties: { dn: dn, guid: guid, sam: sam, display: display, mail: mail, department: department, created: { column: created, format: yyyyMMddHHmmss.0Z }, uac: uac }
    entityAssociationMappings:
      Members: { table: ad_members, column1: group, column2: member }
      Manager: { table: ad_managers, column1: dn, column2: manager }
`;
}

interface Generated {
  dir: string;
  configFile: string;
  firstDir: string;
  nextDir: string;
  changes: number;
}

/**
 * Writes the benchmark's prepared files into `dir`: `first/` (N resources), `next/` (1 %
 * changed: 0.5 % updated, 0.25 % deleted, 0.25 % new), `forward/` and `backward/` (10k
 * incremental changes from `first` and back), and `syncup.yaml`.
 */
export async function generateSyncBench(rows: number, dir: string): Promise<Generated> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const groups = groupsOf(rows);
  const configFile = join(dir, "syncup.yaml");
  writeFileSync(configFile, configText(dir));
  const first: Population = { rows, keeps: () => true, added: { from: rows, count: 0 }, version: () => 0 };
  // Group entries (the first `groups`) are never deleted: their members would only become orphans.
  const next: Population = {
    rows,
    keeps: (i) => i < groups || i % 400 !== 13,
    added: { from: rows, count: Math.floor(rows / 400) },
    version: (i) => (i % 200 === 7 ? 1 : 0),
  };
  const changes = Math.min(10_000, Math.max(100, Math.floor(rows / 10)));
  const deleted = Math.floor(rows / (changes / 4));
  const updated = Math.floor(rows / (changes / 2));
  const incremental: Population = {
    rows,
    keeps: (i) => i < groups || i % deleted !== 3,
    added: { from: rows * 2, count: Math.floor(changes / 4) },
    version: (i) => (i % updated === 5 ? 2 : 0),
  };
  const firstDir = join(dir, "first");
  const nextDir = join(dir, "next");
  await writeSorted(firstDir, first, groups);
  await writeSorted(nextDir, next, groups);
  await writeDelta(join(dir, "forward"), first, incremental, groups);
  await writeDelta(join(dir, "backward"), incremental, first, groups);
  return { dir, configFile, firstDir, nextDir, changes };
}
