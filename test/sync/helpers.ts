/**
 * Test helpers for the synchronization: a small entity model (users, groups, memberships
 * resolved through a unique key, a mono-valued manager), prepared files written the way
 * `syncup prepare` writes them, and a snapshot of what the repository holds.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../src/config/config.js";
import { parseConfig } from "../../src/config/load.js";
import { compareOrdinal, compareOrdinalTuple } from "../../src/core/ordinal.js";
import { CsvFileWriter } from "../../src/csv/writer.js";
import type { Store } from "../../src/store/store.js";

export const CONNECTOR = "HR";

/** Every threshold switched off. */
export const THRESHOLDS_OFF = {
  MaximumInsertedLines: 0,
  MaximumUpdatedLines: 0,
  MaximumDeletedLines: 0,
  MaximumLinkInsertedLines: 0,
  MaximumLinkDeletedLines: 0,
  MaxPercentageInsertedLines: 0,
  MaxPercentageUpdatedLines: 0,
  MaxPercentageDeletedLines: 0,
  MaxLinkPercentageInsertedLines: 0,
  MaxLinkPercentageDeletedLines: 0,
};

export interface TestConfigOptions {
  /** Connector thresholds: all off (0) unless set here; "defaults" keeps syncup's defaults. */
  thresholds?: Record<string, number> | "defaults";
  /** Thresholds of the User entity type mapping and of the Membership association mapping. */
  userThresholds?: Record<string, number>;
  membershipThresholds?: Record<string, number>;
  /** The connector's review settings (approvers, previewHours). */
  review?: Record<string, number>;
}

export function testConfig(workDir: string, options: TestConfigOptions = {}): Config {
  return parseConfig(testConfigYaml(workDir, options), {
    file: join(workDir, "syncup.yaml"),
    label: "syncup.yaml",
    env: {},
  });
}

/** The configuration's text; `databaseUrl` adds a `database` section. */
export function testConfigYaml(
  workDir: string,
  options: TestConfigOptions = {},
  databaseUrl?: string,
): string {
  const thresholds = options.thresholds ?? {};
  const connectorThresholds =
    thresholds === "defaults" ? "" : `thresholds: ${JSON.stringify({ ...THRESHOLDS_OFF, ...thresholds })}`;
  const userThresholds =
    options.userThresholds === undefined
      ? ""
      : `        thresholds: ${JSON.stringify(options.userThresholds)}`;
  const membershipThresholds =
    options.membershipThresholds === undefined
      ? ""
      : `, thresholds: ${JSON.stringify(options.membershipThresholds)}`;
  return `
version: 1
workDir: ${JSON.stringify(workDir)}
${databaseUrl === undefined ? "" : `database: { url: ${JSON.stringify(databaseUrl)} }`}
entityModel:
  entityTypes:
    User:
      properties:
        id: { type: string }
        mail: { type: string }
        name: { type: string }
        age: { type: int32 }
        active: { type: bool }
        hired: { type: date-time }
        manager: { type: navigation, target: User, targetColumnIndex: 128 }
        directReports: { type: navigation, target: User }
        memberOf: { type: navigation, target: Group }
    Group:
      properties:
        name: { type: string }
        label: { type: string }
        members: { type: navigation, target: User }
  associations:
    Membership: { property1: Group.members, property2: User.memberOf }
    Manager: { property1: User.manager, property2: User.directReports }
connectors:
  ${CONNECTOR}:
    ${connectorThresholds}
    ${options.review === undefined ? "" : `review: ${JSON.stringify(options.review)}`}
    connections:
      hr:
        type: csv
        path: ./hr
        tables:
          users: { file: '^users\\.csv$' }
          groups: { file: '^groups\\.csv$' }
          members: { file: '^members\\.csv$' }
          managers: { file: '^managers\\.csv$' }
    entityTypeMappings:
      User:
        table: hr_users
        primaryKey: id
        uniqueKeys: [mail]
        properties:
          id: id
          mail: mail
          name: name
          age: age
          active: { column: active, format: Y/N }
          hired: { column: hired, format: dd/MM/yyyy }
${userThresholds}
      Group:
        table: hr_groups
        primaryKey: name
        properties:
          name: name
          label: label
    entityAssociationMappings:
      Membership: { table: hr_members, column1: group, column2: user, key2: mail${membershipThresholds} }
      Manager: { table: hr_managers, column1: id, column2: managerId }
`;
}

export function tempDir(prefix = "syncup-sync-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface User {
  id: string;
  mail: string;
  name: string;
  age: string;
  active: string;
  hired: string;
}

/** What a connector's export holds: the test's model of the managed system. */
export interface Dataset {
  users: User[];
  groups: { name: string; label: string }[];
  /** (group name, user mail) */
  members: [string, string][];
  /** (user id, manager id): at most one per user */
  managers: [string, string][];
}

const USER_COLUMNS = ["id", "mail", "name", "age", "active", "hired"];
const GROUP_COLUMNS = ["name", "label"];

interface FileSpec {
  mapping: string;
  header: string[];
  rows: string[][];
}

/** The files of a complete export of `data`, rows in key order. */
export function sortedFiles(data: Dataset): FileSpec[] {
  const byKey = (a: string[], b: string[]) => compareOrdinal(a[0] ?? "", b[0] ?? "");
  const byPair = (a: string[], b: string[]) => compareOrdinalTuple(a, b);
  return [
    {
      mapping: "User",
      header: USER_COLUMNS,
      rows: data.users.map((u) => [u.id, u.mail, u.name, u.age, u.active, u.hired]).sort(byKey),
    },
    { mapping: "Group", header: GROUP_COLUMNS, rows: data.groups.map((g) => [g.name, g.label]).sort(byKey) },
    { mapping: "Membership", header: ["group", "user"], rows: data.members.map((m) => [...m]).sort(byPair) },
    { mapping: "Manager", header: ["id", "managerId"], rows: data.managers.map((m) => [...m]).sort(byPair) },
  ];
}

/** Writes `<workDir>/HR/*.sorted.csv` and prepare.json for a complete (or initial) synchronization. */
export async function writeComplete(
  workDir: string,
  data: Dataset,
  mode: "complete" | "initial" = "complete",
): Promise<string> {
  return writePrepared(
    workDir,
    mode,
    sortedFiles(data).map((f) => ({ ...f, kind: "sorted" as const })),
  );
}

/** Writes `.sorted.delta` files (net changes from `before` to `after`) for an incremental synchronization. */
export async function writeIncremental(
  workDir: string,
  before: Dataset,
  after: Dataset,
  options: { baseBatch?: string | null } = {},
): Promise<string> {
  const old = sortedFiles(before);
  const files = sortedFiles(after).map((f, i) => {
    const previous = new Map((old[i]?.rows ?? []).map((r) => [keyOf(f.mapping, r), r]));
    const current = new Map(f.rows.map((r) => [keyOf(f.mapping, r), r]));
    const rows: string[][] = [];
    for (const [key, row] of current) {
      const was = previous.get(key);
      if (was === undefined) rows.push(["insert", ...row]);
      else if (was.join("\u0001") !== row.join("\u0001")) rows.push(["update", ...row]);
    }
    for (const [key, row] of previous) {
      if (!current.has(key)) rows.push(["delete", ...row.map((v, j) => (j < keyWidth(f.mapping) ? v : ""))]);
    }
    rows.sort((a, b) =>
      compareOrdinalTuple(a.slice(1, 1 + keyWidth(f.mapping)), b.slice(1, 1 + keyWidth(f.mapping))),
    );
    return { mapping: f.mapping, header: ["command", ...f.header], rows, kind: "delta" as const };
  });
  return writePrepared(workDir, "incremental", files, options.baseBatch ?? null);
}

function keyWidth(mapping: string): number {
  return mapping === "Membership" || mapping === "Manager" ? 2 : 1;
}

function keyOf(mapping: string, row: string[]): string {
  return row.slice(0, keyWidth(mapping)).join("\u0000");
}

/** Writes prepared files exactly as given, plus prepare.json; returns the connector's folder. */
export async function writePrepared(
  workDir: string,
  mode: "complete" | "initial" | "incremental",
  files: (FileSpec & { kind: "sorted" | "delta" })[],
  baseBatch: string | null = null,
): Promise<string> {
  const dir = join(workDir, CONNECTOR);
  mkdirSync(dir, { recursive: true });
  const entries = [];
  for (const f of files) {
    const file = `${f.mapping}.${f.kind === "sorted" ? "sorted.csv" : "sorted.delta"}`;
    const writer = await CsvFileWriter.open(join(dir, file), f.header);
    await writer.writeBatch(f.rows);
    const done = await writer.commit();
    entries.push({
      mapping: f.mapping,
      kind: f.kind,
      file,
      rows: done.rows,
      bytes: done.bytes,
      sha256: done.sha256,
    });
  }
  const manifest = {
    connector: CONNECTOR,
    mode,
    preparedAt: new Date().toISOString(),
    deltaSource: mode === "incremental" ? "previous" : "none",
    baseBatch,
    files: entries,
    summaries: [],
  };
  writeFileSync(join(dir, "prepare.json"), JSON.stringify(manifest, null, 2));
  return dir;
}

/**
 * Writes the export of `data` as the managed system would drop it (`<workDir>/hr/*.csv`, the
 * test configuration's csv connection), rows in the order given: what `syncup run` reads.
 */
export async function writeExport(workDir: string, data: Dataset): Promise<void> {
  const dir = join(workDir, "hr");
  mkdirSync(dir, { recursive: true });
  const files: [string, string[], string[][]][] = [
    ["users", USER_COLUMNS, data.users.map((u) => [u.id, u.mail, u.name, u.age, u.active, u.hired])],
    ["groups", GROUP_COLUMNS, data.groups.map((g) => [g.name, g.label])],
    ["members", ["group", "user"], data.members.map((m) => [...m])],
    ["managers", ["id", "managerId"], data.managers.map((m) => [...m])],
  ];
  for (const [name, header, rows] of files) {
    const writer = await CsvFileWriter.open(join(dir, `${name}.csv`), header);
    await writer.writeBatch(rows);
    await writer.commit();
  }
}

/** Everything the repository holds for the connector, by key, in a stable order. */
export async function snapshot(
  store: Store,
  connector = CONNECTOR,
): Promise<{ resources: string[]; links: string[]; mono: string[]; pending: string[] }> {
  const rows = await store.resources.list({ connector, limit: 1_000_000, offset: 0 });
  const pkOf = new Map(rows.map((r) => [r.id, `${r.entityType}:${r.pk}`]));
  const resources = rows.map((r) => `${r.entityType}:${r.pk} ${r.uk1 ?? "-"} ${r.properties}`);
  const links: string[] = [];
  const mono: string[] = [];
  for (const r of rows) {
    for (const l of await store.links.linksOf(r.id)) {
      if (l.resource1 === r.id)
        links.push(`${l.association} ${l.key1} ${l.key2} ${pkOf.get(l.resource1)} ${pkOf.get(l.resource2)}`);
    }
    for (const [column, target] of Object.entries(r.mono))
      mono.push(`${r.entityType}:${r.pk} i${column} ${pkOf.get(target)}`);
  }
  await expectCountsHeld(store, connector, rows, links);
  const pending = (await store.pending.list(connector)).map(
    (p) => `${p.association} ${p.key1} ${p.key2} ${p.missing}`,
  );
  return { resources, links: links.sort(), mono: mono.sort(), pending };
}

/** The maintained counts (UR_ScopeCounts) equal what the repository holds. */
async function expectCountsHeld(
  store: Store,
  connector: string,
  rows: readonly { entityType: string; mono: Record<number, number> }[],
  links: readonly string[],
): Promise<void> {
  const held = new Map<string, number>();
  const add = (key: string) => held.set(key, (held.get(key) ?? 0) + 1);
  for (const r of rows) {
    add(`resources ${r.entityType}`);
    for (const column of Object.keys(r.mono)) add(`i${column} ${r.entityType}`);
  }
  // Association names have no spaces: the first word of a link.
  for (const l of links) add(`links ${l.slice(0, l.indexOf(" "))}`);
  const drift = (await store.counts.list(connector))
    .filter((c) => c.n !== (held.get(`${c.kind} ${c.scope}`) ?? 0))
    .map((c) => `${c.kind} ${c.scope}: stored ${c.n}, held ${held.get(`${c.kind} ${c.scope}`) ?? 0}`);
  if (drift.length > 0) throw new Error(`UR_ScopeCounts drifted from the repository:\n${drift.join("\n")}`);
}

export function user(n: number, version = 0): User {
  return {
    id: `u${String(n).padStart(4, "0")}`,
    mail: `user${n}@example.com`,
    name: `User ${n}${version > 0 ? ` v${version}` : ""}`,
    age: String(20 + ((n + version) % 50)),
    active: (n + version) % 3 === 0 ? "N" : "Y",
    hired: `${String(1 + (n % 28)).padStart(2, "0")}/0${1 + (n % 9)}/20${10 + (n % 15)}`,
  };
}

/** A dataset of `n` users, a few groups, memberships and managers. */
export function dataset(n: number, groups = 3): Dataset {
  const users = Array.from({ length: n }, (_, i) => user(i + 1));
  const gs = Array.from({ length: groups }, (_, i) => ({ name: `g${i + 1}`, label: `Group ${i + 1}` }));
  const members: [string, string][] = [];
  users.forEach((u, i) => {
    const g = gs[i % groups];
    if (g !== undefined) members.push([g.name, u.mail]);
  });
  const managers: [string, string][] = users
    .slice(1)
    .map((u, i) => [u.id, users[Math.floor(i / 3)]?.id ?? "u0001"]);
  return { users, groups: gs, members, managers };
}

/** `data` without the users `ids`, their memberships and the manager links that name them. */
export function withoutUsers(data: Dataset, ids: readonly string[]): Dataset {
  const gone = new Set(ids);
  const mails = new Set(data.users.filter((u) => gone.has(u.id)).map((u) => u.mail));
  return {
    ...data,
    users: data.users.filter((u) => !gone.has(u.id)),
    members: data.members.filter(([, mail]) => !mails.has(mail)),
    managers: data.managers.filter(([u, m]) => !gone.has(u) && !gone.has(m)),
  };
}
