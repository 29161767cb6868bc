/**
 * Keys are limited to 1024 bytes of UTF-8 (primary keys, unique keys, association ends), the
 * same on SQLite and PostgreSQL: keys of exactly the limit synchronize on both (their index
 * entries fit PostgreSQL's), a longer one is refused at prepare with the file, line and column
 * of the export, exit code 2, before any synchronization.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_KEY_BYTES, utf8Length } from "../../src/core/key-limits.js";
import { SyncupError } from "../../src/errors.js";
import { prepareConnector } from "../../src/prepare/prepare.js";
import { driverFor, testDatabases } from "../store/dialects.js";
import { tempDir, testConfig, testConfigYaml } from "../sync/helpers.js";

const bin = resolve(import.meta.dirname, "..", "..", "bin", "syncup.js");

/** A key of exactly `bytes` UTF-8 bytes that does not compress: 1-, 2-, 3- and 4-byte characters. */
function keyOf(bytes: number, seed: number): string {
  const alphabet = ["a", "k", "Z", "7", "é", "ß", "€", "中", "😀", "ж"];
  let key = "";
  let state = seed;
  while (utf8Length(key) < bytes - 4) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    key += alphabet[state % alphabet.length];
  }
  while (utf8Length(key) < bytes) key += "x";
  return key;
}

interface Export {
  users: string[][];
  groups: string[][];
  members: string[][];
  managers: string[][];
}

/** Writes the HR export's source files (`id;mail;name;age;active;hired`, …) into `<workDir>/hr`. */
function writeExport(workDir: string, data: Export): void {
  const dir = join(workDir, "hr");
  mkdirSync(dir, { recursive: true });
  const csv = (header: string, rows: string[][]) =>
    [header, ...rows.map((r) => r.join(";"))].join("\n") + "\n";
  writeFileSync(join(dir, "users.csv"), csv("id;mail;name;age;active;hired", data.users));
  writeFileSync(join(dir, "groups.csv"), csv("name;label", data.groups));
  writeFileSync(join(dir, "members.csv"), csv("group;user", data.members));
  writeFileSync(join(dir, "managers.csv"), csv("id;managerId", data.managers));
}

function run(config: string, mode: string): { code: number | null; stderr: string } {
  const result = spawnSync(
    process.execPath,
    [bin, "run", "--config", config, "--connector", "HR", "--mode", mode, "--no-progress"],
    { encoding: "utf8", env: { ...process.env, SYNCUP_DATABASE_URL: "" } },
  );
  return { code: result.status, stderr: result.stderr };
}

const longId = keyOf(MAX_KEY_BYTES, 1);
const longMail = keyOf(MAX_KEY_BYTES - "@example.com".length, 2) + "@example.com";
const longGroup = keyOf(MAX_KEY_BYTES, 3);
const boss = keyOf(MAX_KEY_BYTES, 4);

function atTheLimit(): Export {
  return {
    users: [
      [longId, longMail, "Long", "30", "Y", "01/02/2020"],
      [boss, "boss@example.com", "Boss", "50", "Y", "01/02/2010"],
      ["u2", "u2@example.com", "Short", "40", "N", "03/04/2021"],
    ],
    groups: [
      [longGroup, "Long group"],
      ["g2", "Group 2"],
    ],
    members: [
      [longGroup, longMail],
      ["g2", "u2@example.com"],
    ],
    managers: [[longId, boss]],
  };
}

for (const db of testDatabases()) {
  describe(`key limits (${db.dialect})`, () => {
    afterAll(() => db.cleanup());

    it("synchronizes keys of exactly 1024 bytes, and refuses a 1 MiB primary key at prepare", async () => {
      expect(utf8Length(longId)).toBe(MAX_KEY_BYTES);
      expect(utf8Length(longMail)).toBe(MAX_KEY_BYTES);
      const workDir = tempDir("syncup-keys-");
      const url = db.url();
      const config = join(workDir, "syncup.yaml");
      writeFileSync(config, testConfigYaml(workDir, {}, url));
      const data = atTheLimit();
      writeExport(workDir, data);
      const initial = run(config, "initial");
      expect(initial.code, initial.stderr).toBe(0);

      const driver = await driverFor(url);
      try {
        const pks = await driver.all<{ pk: string }>("SELECT pk FROM UR_Resources ORDER BY pk");
        expect(pks.map((r) => r.pk).sort()).toEqual([longId, boss, "u2", longGroup, "g2"].sort());
        const links = await driver.all<{ key1: string; key2: string }>(
          "SELECT key1, key2 FROM UR_ResourceLinks WHERE association = 'Membership'",
        );
        expect(links).toContainEqual({ key1: longGroup, key2: longMail });
        const batches = await driver.all<{ id: string }>("SELECT id FROM UR_Batches");
        expect(batches).toHaveLength(1);

        // A key of 1 MiB on line 3 of the users' export.
        data.users.push([`${"k".repeat(1024 * 1024)}`, "big@example.com", "Big", "20", "Y", "01/01/2020"]);
        [data.users[1], data.users[3]] = [data.users[3] as string[], data.users[1] as string[]];
        writeExport(workDir, data);
        const refused = run(config, "complete");
        expect(refused.code).toBe(2);
        const file = join(workDir, "export", "hr_users.csv");
        expect(refused.stderr).toContain(
          `KEY_TOO_LONG: "${file}" line 3, column 1: the primary key ("id") of mapping "User" is 1048576 bytes long (UTF-8); a key may hold at most 1024 bytes`,
        );
        // No synchronization was reached: no further batch, the repository as it was.
        expect(await driver.all("SELECT id FROM UR_Batches")).toHaveLength(1);
        expect((await driver.all<{ pk: string }>("SELECT pk FROM UR_Resources")).length).toBe(5);
      } finally {
        await driver.close();
      }
    }, 60_000);
  });
}

describe("key limits at prepare", () => {
  it("also bound unique keys and both ends of an association, one byte over the limit", async () => {
    const workDir = tempDir("syncup-keys-");
    const config = testConfig(workDir);
    const over = (key: string) => key + "x";
    const exportDir = join(workDir, "export");
    const cases: { data: (d: Export) => void; file: string; line: number; column: number; what: string }[] = [
      {
        data: (d) => (d.users[2] = ["u2", over(longMail), "Short", "40", "N", "03/04/2021"]),
        file: "hr_users.csv",
        line: 4,
        column: 2,
        what: 'the unique key "mail" of mapping "User"',
      },
      {
        data: (d) => d.members.push(["g2", over(longMail)]),
        file: "hr_members.csv",
        line: 4,
        column: 2,
        what: 'end 2 ("user") of association mapping "Membership"',
      },
      {
        data: (d) => d.managers.unshift([over(longId), "u2"]),
        file: "hr_managers.csv",
        line: 2,
        column: 1,
        what: 'end 1 ("id") of association mapping "Manager"',
      },
    ];
    for (const c of cases) {
      const data = atTheLimit();
      c.data(data);
      writeExport(workDir, data);
      for (const [table, name] of [
        ["users", "hr_users"],
        ["groups", "hr_groups"],
        ["members", "hr_members"],
        ["managers", "hr_managers"],
      ] as const) {
        mkdirSync(exportDir, { recursive: true });
        copyFileSync(join(workDir, "hr", `${table}.csv`), join(exportDir, `${name}.csv`));
      }
      const error = await prepareConnector(config, "HR", "complete").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SyncupError);
      const e = error as SyncupError;
      expect(e.code).toBe("KEY_TOO_LONG");
      const file = join(exportDir, c.file);
      expect(e.position).toEqual({ file, line: c.line, column: c.column });
      expect(e.message).toContain(
        `"${file}" line ${c.line}, column ${c.column}: ${c.what} is 1025 bytes long`,
      );
    }
  });
});
