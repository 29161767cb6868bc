/**
 * Keys of typed properties are compared in their normalized form, through the whole pipeline
 * on both dialects: an association that names its end by a GUID unique key written with braces
 * and capitals resolves to the resource whose key is written plainly.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { runConnector } from "../../src/pipeline/run-connector.js";
import { openStore } from "../../src/sync/index.js";
import { testDatabases } from "../store/dialects.js";
import { snapshot, tempDir } from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const CONFIG = `
version: 1
workDir: ./work
entityModel:
  entityTypes:
    Account:
      properties:
        login: { type: string }
        guid: { type: guid }
        groups: { type: navigation, target: Group }
    Group:
      properties:
        name: { type: string }
        number: { type: int32 }
        members: { type: navigation, target: Account }
  associations:
    Membership: { property1: Group.members, property2: Account.groups }
connectors:
  AD:
    connections:
      ad:
        type: csv
        path: ./source
        tables:
          accounts: { file: '^accounts\\.csv$' }
          groups: { file: '^groups\\.csv$' }
          members: { file: '^members\\.csv$' }
    entityTypeMappings:
      Account: { table: ad_accounts, primaryKey: login, uniqueKeys: [guid], properties: { login: login, guid: guid } }
      Group: { table: ad_groups, primaryKey: number, properties: { name: name, number: number } }
    entityAssociationMappings:
      Membership: { table: ad_members, column1: group, column2: member, key1: number, key2: guid }
`;

const GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

describe.each(databases)("normalized keys on $dialect", (db) => {
  it("resolves a GUID unique key written with braces and capitals, and an integer key written with zeros", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "source"), { recursive: true });
    const config = parseConfig(CONFIG, { file: join(dir, "syncup.yaml"), label: "syncup.yaml", env: {} });
    const write = (name: string, lines: string[]) =>
      writeFileSync(join(dir, "source", `${name}.csv`), `${lines.join("\n")}\n`);
    write("accounts", ["login;guid", `alice;${GUID}`, "bob;00000000-0000-0000-0000-000000000002"]);
    write("groups", ["number;name", "7;Seven", "12;Twelve"]);
    write("members", [
      "group;member",
      `007;{${GUID.toUpperCase()}}`,
      "12;{00000000-0000-0000-0000-000000000002}",
    ]);
    const store = await openStore(db.url());
    try {
      const initial = await runConnector(config, store, "AD", "initial");
      expect(initial.sync).toMatchObject({ state: "applied", orphans: 0, links: { inserted: 2 } });
      const held = await snapshot(store, "AD");
      expect(held.links).toEqual([
        `Membership 12 00000000-0000-0000-0000-000000000002 Group:12 Account:bob`,
        `Membership 7 ${GUID} Group:7 Account:alice`,
      ]);
      // The same keys written another way are the same keys: nothing changes.
      write("members", ["group;member", `7;${GUID}`, "+12;00000000000000000000000000000002"]);
      const again = await runConnector(config, store, "AD", "incremental");
      expect(again.sync).toMatchObject({ state: "applied", orphans: 0, links: { inserted: 0, deleted: 0 } });
    } finally {
      await store.close();
    }
  });
});
