import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { SyncupError } from "../../src/errors.js";
import { openStore, synchronize, type Store } from "../../src/sync/index.js";
import { testDatabases } from "../store/dialects.js";
import {
  CONNECTOR,
  dataset,
  snapshot,
  sortedFiles,
  tempDir,
  testConfig,
  testConfigYaml,
  user,
  writeComplete,
  writeIncremental,
  writePrepared,
  type Dataset,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

describe.each(databases)("synchronization modes on $dialect", (db) => {
  let store: Store;
  let workDir: string;
  beforeEach(async () => {
    store = await openStore(db.url());
    workDir = tempDir();
    return async () => store.close();
  });
  const sync = (
    mode: "initial" | "complete" | "incremental",
    extra: { force?: boolean; dryRun?: boolean } = {},
  ) => synchronize({ store, config: testConfig(workDir), connector: CONNECTOR, mode, ...extra });

  it("loads an initial batch, then a complete of the same data changes nothing", async () => {
    const data = dataset(30);
    await writeComplete(workDir, data, "initial");
    const initial = await sync("initial");
    expect(initial).toMatchObject({
      state: "applied",
      resources: { inserted: 33 },
      links: { inserted: 30 + 29 },
      orphans: 0,
    });
    const before = await snapshot(store);
    expect(before.resources).toHaveLength(33);
    expect(before.links).toHaveLength(30);
    expect(before.mono).toHaveLength(29);

    await writeComplete(workDir, data);
    const complete = await sync("complete");
    expect(complete).toMatchObject({
      state: "applied",
      resources: { inserted: 0, updated: 0, deleted: 0, unchanged: 33 },
      links: { inserted: 0, deleted: 0 },
    });
    expect(await snapshot(store)).toEqual(before);
  });

  it("translates values by type and format", async () => {
    const data: Dataset = {
      users: [{ ...user(1), age: "042", active: "n", hired: "31/12/2020" }],
      groups: [],
      members: [],
      managers: [],
    };
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const [resource] = await store.resources.get(CONNECTOR, "u0001", "User");
    expect(JSON.parse(resource?.properties ?? "{}")).toEqual({
      id: "u0001",
      mail: "user1@example.com",
      name: "User 1",
      age: 42,
      active: false,
      hired: "2020-12-31T00:00:00.000Z",
    });
    expect(resource?.uk1).toBe("user1@example.com");
  });

  it("complete stages inserts, updates and deletes of resources and links", async () => {
    const data = dataset(20);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const next: Dataset = {
      ...data,
      users: [
        ...data.users.filter((u) => u.id !== "u0020").map((u) => (u.id === "u0003" ? user(3, 1) : u)),
        user(21),
      ],
      members: [
        ...data.members.filter(([, mail]) => mail !== "user20@example.com"),
        ["g1", "user21@example.com"],
      ],
      managers: data.managers.filter(([id]) => id !== "u0020"),
    };
    await writeComplete(workDir, next);
    const report = await sync("complete");
    expect(report).toMatchObject({
      state: "applied",
      resources: { inserted: 1, updated: 1, deleted: 1 },
      links: { inserted: 1, deleted: 2 },
      orphans: 0,
    });
    const fresh = tempDir();
    const other = await openStore(db.url());
    try {
      await writeComplete(fresh, next, "initial");
      await synchronize({ store: other, config: testConfig(fresh), connector: CONNECTOR, mode: "initial" });
      expect(await snapshot(store)).toEqual(await snapshot(other));
    } finally {
      await other.close();
    }
  });

  it("reports orphans in <association>.orphans.csv without failing the batch", async () => {
    const data = dataset(5);
    data.members.push(["g1", "nobody@example.com"], ["g9", "user1@example.com"]);
    data.managers.push(["u0001", "u9999"]);
    const dir = await writeComplete(workDir, data, "initial");
    const report = await sync("initial");
    expect(report.orphans).toBe(3);
    expect([...report.orphanFiles].sort()).toEqual([
      join(dir, "Manager.orphans.csv"),
      join(dir, "Membership.orphans.csv"),
    ]);
    expect(readFileSync(join(dir, "Membership.orphans.csv"), "utf8")).toBe(
      "line;key1;key2;missing;reason\n" +
        "2;g1;nobody@example.com;end2;no User has key2\n" +
        "8;g9;user1@example.com;end1;no Group has key1\n",
    );
    await writeComplete(workDir, data);
    const again = await sync("complete");
    expect(again).toMatchObject({ orphans: 3, links: { inserted: 0, deleted: 0 } });
  });

  it("loads mono-valued links with their resources, whatever the order of the entity types", async () => {
    // Group, which no mono-valued association links, comes first in this configuration.
    const yaml = testConfigYaml(workDir);
    const group = yaml.slice(yaml.indexOf("      Group:\n"), yaml.indexOf("    entityAssociationMappings:"));
    const reordered = yaml
      .replace(group, "")
      .replace("    entityTypeMappings:\n", `    entityTypeMappings:\n${group}`);
    const config = parseConfig(reordered, {
      file: join(workDir, "syncup.yaml"),
      label: "syncup.yaml",
      env: {},
    });
    expect(config.connectors[CONNECTOR]?.entityTypeMappings.map((m) => m.name)).toEqual(["Group", "User"]);
    const data = dataset(12);
    data.managers.push(["u0002", "u0012"]); // a second manager for u0002: a conflict
    await writeComplete(workDir, data, "initial");
    const initial = await synchronize({ store, config, connector: CONNECTOR, mode: "initial" });
    expect(initial).toMatchObject({ state: "applied", monoConflicts: 1, resources: { inserted: 15 } });
    const ids = new Map<string, number>();
    for (const r of await store.resources.list({ connector: CONNECTOR, limit: 100, offset: 0 }))
      ids.set(`${r.entityType}:${r.pk}`, r.id);
    expect(new Set(ids.values()).size).toBe(15);
    for (const [holder, manager] of data.managers.slice(0, -1)) {
      const [row] = await store.resources.get(CONNECTOR, holder, "User");
      expect(row?.mono[128]).toBe(ids.get(`User:${manager}`));
    }
    const loaded = await snapshot(store);

    // A complete of the same files, with the entity types in the other order, changes nothing.
    await writeComplete(workDir, data);
    expect(await sync("complete")).toMatchObject({
      resources: { inserted: 0, updated: 0, deleted: 0 },
      links: { inserted: 0, deleted: 0 },
    });
    expect(await snapshot(store)).toEqual(loaded);
  });

  it("fails an initial load whole on a conversion error, leaving no orphans file of it", async () => {
    const data = dataset(6);
    data.managers.push(["u0002", "u0006"], ["u0003", "u9999"]); // a conflict and an orphan
    data.users = data.users.map((u) => (u.id === "u0005" ? { ...u, age: "old" } : u));
    const dir = await writeComplete(workDir, data, "initial");
    const error = await sync("initial").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CONVERSION_FAILED" });
    expect((error as Error).message).toContain(
      '"User.sorted.csv" line 6, column 4 (age): "old" is not int32',
    );
    expect(await snapshot(store)).toEqual({ resources: [], links: [], mono: [], pending: [] });
    expect(existsSync(join(dir, "Manager.orphans.csv"))).toBe(false);
  });

  it("refuses a prepared file out of key order, naming its file and line, in every mode", async () => {
    const data = dataset(4);
    const files = () => sortedFiles(data).map((f) => ({ ...f, kind: "sorted" as const }));
    const refused = async (mode: "initial" | "complete" | "incremental", where: string) => {
      const error = await sync(mode).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "PREPARED_FILE_INVALID" });
      expect((error as Error).message).toContain(where);
    };
    // Initial: two users swapped.
    const swapped = files();
    const users = swapped[0]!.rows;
    [users[1], users[2]] = [users[2]!, users[1]!];
    await writePrepared(workDir, "initial", swapped);
    await refused("initial", '"User.sorted.csv" line 4: key "u0002" is not after "u0003"');
    expect(await snapshot(store)).toEqual({ resources: [], links: [], mono: [], pending: [] });

    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const loaded = await snapshot(store);
    // Complete: a pair twice.
    const twice = files();
    const members = twice[2]!.rows;
    members.splice(1, 0, members[0]!);
    await writePrepared(workDir, "complete", twice);
    await refused(
      "complete",
      '"Membership.sorted.csv" line 3: key ("g1", "user1@example.com") is not after ("g1", "user1@example.com")',
    );
    // Incremental: deletes in descending key order (the other deltas empty).
    await writePrepared(
      workDir,
      "incremental",
      files().map((f) => ({
        ...f,
        kind: "delta" as const,
        header: ["command", ...f.header],
        rows:
          f.mapping === "User"
            ? [
                ["delete", "u0003", "", "", "", "", ""],
                ["delete", "u0002", "", "", "", "", ""],
              ]
            : [],
      })),
    );
    await refused("incremental", '"User.sorted.delta" line 3: key "u0002" is not after "u0003"');
    expect(await snapshot(store)).toEqual(loaded);
  });

  it("refuses an initial load into a populated connector, unless forced", async () => {
    await writeComplete(workDir, dataset(3), "initial");
    await sync("initial");
    const refused = await sync("initial").catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "INITIAL_NOT_EMPTY" });
    expect((refused as Error).message).toContain("--mode complete");
    await writeComplete(workDir, dataset(2), "initial");
    const forced = await sync("initial", { force: true });
    expect(forced.resources.inserted).toBe(5);
    expect((await snapshot(store)).resources).toHaveLength(5);
  });

  it("applies an incremental batch", async () => {
    const data = dataset(10);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const next: Dataset = {
      ...data,
      users: [...data.users.map((u) => (u.id === "u0002" ? user(2, 3) : u)), user(11)],
    };
    await writeIncremental(workDir, data, next);
    const report = await sync("incremental");
    expect(report).toMatchObject({ state: "applied", resources: { inserted: 1, updated: 1, deleted: 0 } });
  });

  it("keeps what each scope holds up to date, and counts a scope in full when its count is missing", async () => {
    const data = dataset(30);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const counts = async () =>
      Object.fromEntries((await store.counts.list(CONNECTOR)).map((c) => [`${c.kind} ${c.scope}`, c.n]));
    expect(await counts()).toEqual({
      "resources User": 30,
      "resources Group": 3,
      "links Membership": 30,
      "i128 User": 29,
    });
    // u0002 manages u0005–u0007 (their references go with it); u0030 had a manager; u0031 is new.
    const next: Dataset = {
      ...data,
      users: [...data.users.filter((u) => u.id !== "u0002" && u.id !== "u0030"), user(31)],
      members: [
        ...data.members.filter(([, mail]) => mail !== "user2@example.com" && mail !== "user30@example.com"),
        ["g1", "user31@example.com"],
      ],
      managers: [
        ...data.managers.filter(([u, m]) => u !== "u0002" && u !== "u0030" && m !== "u0002"),
        ["u0031", "u0001"],
      ],
    };
    await writeIncremental(workDir, data, next);
    expect(await sync("incremental")).toMatchObject({ state: "applied" });
    expect(await counts()).toEqual({
      "resources User": 29,
      "resources Group": 3,
      "links Membership": 29,
      "i128 User": 29 - 1 - 1 - 3 + 1,
    });
    await snapshot(store); // checks every stored count against the rows held

    // A repository from before the counts were kept: counted in full by the next run.
    await store.counts.forget(CONNECTOR);
    await writeComplete(workDir, next);
    expect(await sync("complete")).toMatchObject({ state: "applied", resources: { unchanged: 32 } });
    expect(await counts()).toEqual({
      "resources User": 29,
      "resources Group": 3,
      "links Membership": 29,
      "i128 User": 25,
    });
  });

  it("skips translating unchanged rows by their source hash, and translates again when the mapping changes", async () => {
    const data = dataset(12);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const sourceHashes = async () => {
      const hashes: (string | null)[] = [];
      for await (const page of store.resources.streamHeads(CONNECTOR, "User"))
        hashes.push(...page.map((h) => h.sourceHash));
      return hashes;
    };
    const loaded = await sourceHashes();
    expect(loaded).toHaveLength(12);
    expect(new Set(loaded).size).toBe(12);
    expect(loaded).not.toContain(null);

    // The same cells read through another mapping: every value must be translated again.
    const yaml = (...edits: [string, string][]) => {
      let text = testConfigYaml(workDir);
      for (const [from, to] of edits) {
        expect(text).toContain(from);
        text = text.replace(from, to);
      }
      return parseConfig(text, { file: join(workDir, "syncup.yaml"), label: "syncup.yaml", env: {} });
    };
    const swap: [string, string] = ["format: Y/N", "format: N/Y"];
    const swapped = yaml(swap);
    await writeComplete(workDir, data);
    const flipped = await synchronize({ store, config: swapped, connector: CONNECTOR, mode: "complete" });
    expect(flipped.resources).toMatchObject({ updated: 12, unchanged: 3 });
    const after = await sourceHashes();
    expect(after.filter((h, i) => h === loaded[i])).toEqual([]);

    // A mapping edited without changing any value: unchanged, and source hashes follow it.
    const widened = yaml(swap, ["age: { type: int32 }", "age: { type: int64 }"]);
    const same = await synchronize({ store, config: widened, connector: CONNECTOR, mode: "complete" });
    expect(same.resources).toMatchObject({ inserted: 0, updated: 0, deleted: 0, unchanged: 15 });
    const refreshed = await sourceHashes();
    expect(refreshed.filter((h, i) => h === after[i])).toEqual([]);
    expect(refreshed).not.toContain(null);
  });

  it("fails a whole incremental batch on an unknown key, applying nothing", async () => {
    const data = dataset(10);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const before = await snapshot(store);
    const ghost: Dataset = { ...data, users: [...data.users, user(50)] };
    // The agent thinks u0050 exists and updates it; it also inserts u0011 (valid).
    const next: Dataset = { ...data, users: [...data.users, user(11), user(50, 1)] };
    await writeIncremental(workDir, ghost, next);
    const error = await sync("incremental").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncupError);
    expect(error).toMatchObject({ code: "DELTA_UNKNOWN_KEY" });
    expect((error as Error).message).toMatch(
      /"User\.sorted\.delta" line \d+: update of User "u0050", which the repository does not hold/,
    );
    expect((error as Error).message).toContain("--mode complete");
    expect(await snapshot(store)).toEqual(before);
    const [failed] = await store.batches.list({ connector: CONNECTOR, limit: 1 });
    expect(failed?.state).toBe("failed");
  });

  it("fails a whole batch on a conversion error, naming file, line and column", async () => {
    const data = dataset(4);
    await writeComplete(workDir, data, "initial");
    await sync("initial");
    const before = await snapshot(store);
    const bad: Dataset = {
      ...data,
      users: data.users
        .map((u) => (u.id === "u0003" ? { ...u, age: "old", hired: "31/02/2020" } : u))
        .concat(user(5)),
    };
    await writeComplete(workDir, bad);
    const error = await sync("complete").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CONVERSION_FAILED" });
    const message = (error as Error).message;
    expect(message).toContain('"User.sorted.csv" line 4, column 4 (age): "old" is not int32');
    expect(message).toContain(
      '"User.sorted.csv" line 4, column 6 (hired): "31/02/2020" is not date-time (format "dd/MM/yyyy")',
    );
    expect(await snapshot(store)).toEqual(before);
  });

  it("previews with --dry-run: staged, reported, discarded", async () => {
    const data = dataset(6);
    await writeComplete(workDir, data, "initial");
    const preview = await sync("initial", { dryRun: true });
    expect(preview).toMatchObject({ state: "previewed", resources: { inserted: 9 } });
    expect((await snapshot(store)).resources).toHaveLength(0);
    await sync("initial");
    await writeComplete(workDir, { ...data, users: data.users.slice(1) });
    const before = await snapshot(store);
    const completePreview = await sync("complete", { dryRun: true });
    expect(completePreview).toMatchObject({ state: "previewed", resources: { deleted: 1 } });
    expect(await snapshot(store)).toEqual(before);
  });
});
