/**
 * End to end: a directory (Debian's slapd) through the LDAP connector, prepare and
 * synchronization into a SQLite repository; then changes made with ldapmodify, an incremental
 * run, and a complete run that must find nothing left to change.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.js";
import { runConnector } from "../../../src/pipeline/run-connector.js";
import { openStore, type Store } from "../../../src/sync/index.js";
import { removeDir, tempDir } from "../helpers.js";
import { groupDN, GROUPS, groupLdif, PEOPLE, userDN, userLdif } from "./directory-data.js";
import { READER_DN, READER_PASSWORD, Slapd } from "./slapd.js";

const USERS = 120;
const GROUP_COUNT = 4;

let root: string;
let slapd: Slapd;
let store: Store;

function configText(): string {
  return `
version: 1
workDir: ${JSON.stringify(join(root, "work"))}
entityModel:
  entityTypes:
    Entry:
      properties:
        dn: { type: string }
        cn: { type: string }
        mail: { type: string, multiValued: true }
        employeeNumber: { type: string }
        objectGUID: { type: guid }
        members: { type: navigation, target: Entry }
        memberOf: { type: navigation, target: Entry }
        manager: { type: navigation, target: Entry, targetColumnIndex: 128 }
        directReports: { type: navigation, target: Entry }
  associations:
    Entry_Members: { property1: Entry.members, property2: Entry.memberOf }
    Entry_Manager: { property1: Entry.manager, property2: Entry.directReports }
connectors:
  Dir:
    thresholds: { MaxPercentageInsertedLines: 0, MaxPercentageUpdatedLines: 0, MaxPercentageDeletedLines: 0, MaxLinkPercentageInsertedLines: 0, MaxLinkPercentageDeletedLines: 0 }
    connections:
      ad:
        type: ldap
        url: ${slapd.url}
        bindDN: "${READER_DN}"
        passwordEnv: LDAP_READER_PASSWORD
        baseDNs: ["${PEOPLE}", "${GROUPS}"]
        filter: "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))"
        attributes: [cn, mail, employeeNumber, objectGUID]
        links: { members: member, managers: manager }
        watermarkOverlapSeconds: 0
        retries: 0
    entityTypeMappings:
      Entry:
        table: ad_entries
        primaryKey: dn
        properties: { dn: dn, cn: cn, mail: mail, employeeNumber: employeeNumber, objectGUID: objectGUID }
    entityAssociationMappings:
      Entry_Members: { table: ad_members, column1: dn, column2: member }
      Entry_Manager: { table: ad_managers, column1: dn, column2: manager }
`;
}

beforeAll(async () => {
  root = await tempDir("ldap-pipeline");
  slapd = await Slapd.start(join(root, "slapd"));
  const ldif = [
    `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: People\n`,
    `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: Groups\n`,
  ];
  // Users 2…USERS: user 1's mail holds an escaped "|" (see the report on multi-valued cells).
  for (let i = 2; i <= USERS; i++)
    ldif.push(userLdif(i).replace(/^manager: .*\n/m, i > 50 ? `manager: ${userDN((i % 40) + 2)}\n` : ""));
  for (let g = 2; g <= GROUP_COUNT + 1; g++) {
    ldif.push(
      groupLdif(g).replace(/^member: .*\n/gm, "") +
        [2, 3, 4, g * 10].map((m) => `member: ${userDN(m)}`).join("\n") +
        "\n",
    );
  }
  await slapd.add(ldif.join("\n"));
  store = await openStore(`sqlite:${join(root, "repository.db")}`);
  await writeFile(join(root, "syncup.yaml"), configText());
}, 60_000);

afterAll(async () => {
  delete process.env["LDAP_READER_PASSWORD"];
  await store?.close();
  await slapd?.stop();
  await removeDir(root);
});

describe("LDAP → prepare → synchronize", () => {
  it("loads the directory, applies an incremental run, and a complete run then changes nothing", async () => {
    process.env["LDAP_READER_PASSWORD"] = READER_PASSWORD;
    const config = parseConfig(configText(), {
      file: join(root, "syncup.yaml"),
      label: "syncup.yaml",
      env: process.env,
    });
    const initial = await runConnector(config, store, "Dir", "initial");
    expect(initial.sync!.state).toBe("applied");
    expect(initial.sync!.resources.inserted).toBe(USERS - 1 + GROUP_COUNT);
    expect(initial.sync!.orphans).toBe(0);

    await new Promise((r) => setTimeout(r, 1100));
    await slapd.modify(`dn: ${userDN(5)}
changetype: modify
replace: mail
mail: five@example.com
mail: cinq@example.org

dn: ${userDN(6)}
changetype: delete

dn: ${groupDN(2)}
changetype: modify
delete: member
member: ${userDN(3)}
-
add: member
member: ${userDN(7)}

dn: ${userDN(60)}
changetype: modify
replace: manager
manager: ${userDN(9)}
`);
    await slapd.add(userLdif(500).replace(/^manager: .*$/m, `manager: ${userDN(8)}`));
    const incremental = await runConnector(config, store, "Dir", "incremental");
    expect(incremental.sync!.state).toBe("applied");
    expect(incremental.sync!.resources).toMatchObject({ inserted: 1, updated: 1, deleted: 1 });

    const [five] = await store.resources.get("Dir", userDN(5), "Entry");
    expect(JSON.parse(five?.properties ?? "{}")).toMatchObject({
      mail: ["five@example.com", "cinq@example.org"],
    });
    expect(await store.resources.get("Dir", userDN(6), "Entry")).toEqual([]);

    const complete = await runConnector(config, store, "Dir", "complete");
    expect(complete.sync!.state).toBe("applied");
    expect(complete.sync!.resources).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
    expect(complete.sync!.links).toEqual({ inserted: 0, deleted: 0 });
  });
});
