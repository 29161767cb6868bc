/**
 * The LDAP connector against a real OpenLDAP server (Debian's slapd, started by the test):
 * a complete export of a few thousand entries, changes made with ldapmodify, an incremental
 * export, TLS, and the errors a user meets. Every export is compared with what ldapsearch
 * reads from the same directory.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ldapConnector } from "../../../src/connectors/ldap/index.js";
import { ldapConnectionSchema, type LdapSettings } from "../../../src/connectors/ldap/schema.js";
import { SyncupError } from "../../../src/errors.js";
import {
  applyChanges,
  ExportRun,
  freePort,
  readCsv,
  records,
  removeDir,
  sortedRows,
  tempDir,
  type CsvTable,
} from "../helpers.js";
import {
  directoryLdif,
  GROUP_COUNT,
  groupMembers,
  GROUPS,
  GUID_1_TEXT,
  MANAGER_COUNT,
  PEOPLE,
  USER_COUNT,
  userDN,
  groupDN,
  userLdif,
} from "./directory-data.js";
import { FIXTURES, parseLdif, READER_DN, READER_PASSWORD, Slapd, SUFFIX, type LdifEntry } from "./slapd.js";

const ATTRIBUTES = [
  "objectClass",
  "cn",
  "sn",
  "givenName",
  "mail",
  "employeeNumber",
  "description",
  "title",
  "objectGUID",
  "objectSid",
  "jpegPhoto",
];
const FILTER = "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))";
/** What the test knows of the schema: the SINGLE-VALUE attributes among ATTRIBUTES. */
const SINGLE_VALUED = new Set(["employeenumber", "objectguid", "objectsid"]);
const ENV = { LDAP_READER_PASSWORD: READER_PASSWORD };

let root: string;
let slapd: Slapd;

function settings(overrides: Record<string, unknown> = {}): LdapSettings {
  return ldapConnectionSchema.parse({
    type: "ldap",
    url: slapd.url,
    bindDN: READER_DN,
    passwordEnv: "LDAP_READER_PASSWORD",
    baseDNs: [PEOPLE, GROUPS],
    filter: FILTER,
    attributes: ATTRIBUTES,
    links: { members: "member", managers: "manager" },
    binaryAttributes: ["objectGUID", "objectSid", "jpegPhoto"],
    pageSize: 250,
    watermarkOverlapSeconds: 0,
    timeoutSeconds: 10,
    retries: 0,
    ...overrides,
  });
}

// The expected forms, written independently of the connector's code.
const escapeValue = (v: string) => v.replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
const swapBytes = (hex: string) => (hex.match(/../g) ?? []).reverse().join("");
function guidOf(bytes: Buffer): string {
  const h = bytes.toString("hex");
  return `${swapBytes(h.slice(0, 8))}-${swapBytes(h.slice(8, 12))}-${swapBytes(h.slice(12, 16))}-${h.slice(16, 20)}-${h.slice(20)}`;
}
function sidOf(bytes: Buffer): string {
  const subs = Array.from({ length: bytes[1] ?? 0 }, (_, i) => bytes.readUInt32LE(8 + 4 * i));
  return [`S-${bytes[0]}-${parseInt(bytes.subarray(2, 8).toString("hex"), 16)}`, ...subs].join("-");
}
function cellOf(attribute: string, values: Buffer[]): string {
  const lower = attribute.toLowerCase();
  const texts = values.map((v) =>
    lower === "objectguid"
      ? guidOf(v)
      : lower === "objectsid"
        ? sidOf(v)
        : lower === "jpegphoto"
          ? v.toString("base64")
          : v.toString("utf8"),
  );
  return SINGLE_VALUED.has(lower) ? (texts[0] ?? "") : texts.map(escapeValue).join("|");
}

/** The three files a complete export should write, computed from ldapsearch's LDIF. */
async function expectedFromDirectory(): Promise<{
  entries: CsvTable;
  members: CsvTable;
  managers: CsvTable;
}> {
  const entries: LdifEntry[] = [];
  for (const base of [PEOPLE, GROUPS]) {
    entries.push(...parseLdif(await slapd.search(base, FILTER, [...ATTRIBUTES, "member", "manager"])));
  }
  const links = (attribute: string) =>
    entries.flatMap((e) => (e.values.get(attribute) ?? []).map((v) => [e.dn, v.toString("utf8")]));
  return {
    entries: {
      header: ["dn", ...ATTRIBUTES],
      rows: entries.map((e) => [
        e.dn,
        ...ATTRIBUTES.map((a) => cellOf(a, e.values.get(a.toLowerCase()) ?? [])),
      ]),
    },
    members: { header: ["dn", "member"], rows: links("member") },
    managers: { header: ["dn", "manager"], rows: links("manager") },
  };
}

function expectSameTable(actual: CsvTable, expected: CsvTable): void {
  expect(actual.header).toEqual(expected.header);
  expect(actual.rows.length).toBe(expected.rows.length);
  expect(sortedRows(actual)).toEqual(sortedRows(expected));
}

async function readFiles(
  file: (table: string) => string,
): Promise<Record<"entries" | "members" | "managers", CsvTable>> {
  return {
    entries: await readCsv(file("entries")),
    members: await readCsv(file("members")),
    managers: await readCsv(file("managers")),
  };
}

async function errorOf(promise: Promise<unknown>): Promise<SyncupError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SyncupError);
    return error as SyncupError;
  }
  throw new Error("expected the export to fail");
}

beforeAll(async () => {
  root = await tempDir("ldap");
  slapd = await Slapd.start(join(root, "slapd"));
  await slapd.add(directoryLdif());
  // A last entry a second later, so that the complete export's watermark is its time alone.
  await new Promise((r) => setTimeout(r, 1100));
  await slapd.add(userLdif(USER_COUNT + 1));
}, 120_000);

afterAll(async () => {
  await slapd?.stop();
  await removeDir(root);
});

describe("LDAP connector against OpenLDAP", () => {
  const run = () => new ExportRun(root, "ad", ENV);
  let main: ExportRun;
  let complete: Record<"entries" | "members" | "managers", CsvTable>;

  it("exports every entry with its attributes, multi-valued cells, binary forms and the link files", async () => {
    main = run();
    const result = await main.run(ldapConnector, settings(), "complete");
    complete = await readFiles(result.file);
    const users = USER_COUNT + 1;
    expect(result.tables).toEqual({
      entries: users + GROUP_COUNT,
      members: Array.from({ length: GROUP_COUNT }, (_, g) => groupMembers(g + 1).length).reduce(
        (a, b) => a + b,
      ),
      managers: users - MANAGER_COUNT,
    });
    const expected = await expectedFromDirectory();
    expectSameTable(complete.entries, expected.entries);
    expectSameTable(complete.members, expected.members);
    expectSameTable(complete.managers, expected.managers);

    const byDn = new Map(records(complete.entries).map((r) => [r["dn"], r]));
    const u1 = byDn.get(userDN(1));
    expect(u1?.["objectGUID"]).toBe(GUID_1_TEXT);
    expect(u1?.["objectSid"]).toBe("S-1-5-21-1004336348-1177238915-682003330-1001");
    expect(u1?.["mail"]).toBe("u0001@example.com|pipe\\|and\\\\backslash@example.com");
    expect(u1?.["objectClass"]).toBe("inetOrgPerson|syncupTestObject");
    // Single-valued (by the schema): written as is, never escaped.
    expect(byDn.get(userDN(2))?.["employeeNumber"]).toBe("E|2\\x");
    // A GUID whose bytes look like a UTF-8 byte order mark keeps them.
    expect(byDn.get(userDN(3))?.["objectGUID"]).toBe("41bfbbef-4342-4544-4647-48495051525" + "3");
    expect(byDn.get(userDN(7))?.["description"]).toBe('semi;colon "quoted"\nsecond line of u0007');
    expect(byDn.get(userDN(14))?.["description"]).toBe(
      'semi;colon "quoted"\nsecond line of u0014|another value',
    );
    expect(byDn.get(userDN(100))?.["jpegPhoto"]).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(byDn.get(groupDN(5))?.["description"]).toBe("Group 5 \\| with a pipe");
    await result.commit?.();
  });

  it("exports the changes made with ldapmodify incrementally, with commands that rebuild the complete files", async () => {
    await slapd.modify(`dn: ${userDN(2)}
changetype: modify
replace: mail
mail: changed@example.com
mail: second|value@example.com
-
replace: title
title: Director

dn: ${userDN(3)}
changetype: delete

dn: ${userDN(57)}
changetype: modify
replace: manager
manager: ${userDN(9)}

dn: ${userDN(6)}
changetype: modrdn
newrdn: uid=u0006b
deleteoldrdn: 0

dn: ${groupDN(4)}
changetype: modify
delete: member
member: ${userDN(4)}

dn: ${groupDN(2)}
changetype: modify
add: member
member: ${userDN(5)}
`);
    await slapd.add(userLdif(9001));
    const result = await main.run(ldapConnector, settings(), "incremental");
    const changes = await readFiles(result.file);
    const log = main.logs.at(-1) ?? "";
    // Only the changed entries (and the last one of the complete export) were read.
    expect(Number(/(\d+) read as changed/.exec(log)?.[1])).toBeLessThan(10);

    const u6b = userDN(6).replace("uid=u0006,", "uid=u0006b,");
    const row = (table: CsvTable, command: string, dn: string) =>
      table.rows.filter((r) => r[0] === command && r[1] === dn).map((r) => r.slice(1));
    expect(changes.entries.header).toEqual(["command", "dn", ...ATTRIBUTES]);
    expect(changes.entries.rows.map((r) => `${r[0]} ${r[1]}`).sort()).toEqual(
      [
        `update ${userDN(2)}`,
        `delete ${userDN(3)}`,
        `delete ${userDN(6)}`,
        `insert ${u6b}`,
        `insert ${userDN(9001)}`,
      ].sort(),
    );
    const u2 = records({ header: changes.entries.header, rows: changes.entries.rows }).find(
      (r) => r["dn"] === userDN(2),
    );
    expect(u2?.["mail"]).toBe("changed@example.com|second\\|value@example.com");
    expect(u2?.["title"]).toBe("Director");
    expect(row(changes.entries, "delete", userDN(3))).toEqual([[userDN(3), ...ATTRIBUTES.map(() => "")]]);

    expect(changes.members.header).toEqual(["command", "dn", "member"]);
    expect(changes.members.rows.sort()).toEqual(
      [
        ["delete", groupDN(4), userDN(4)],
        ["insert", groupDN(2), userDN(5)],
      ].sort(),
    );
    expect(changes.managers.rows.sort()).toEqual(
      [
        ["delete", userDN(57), userDN((57 % MANAGER_COUNT) + 1)],
        ["insert", userDN(57), userDN(9)],
        ["insert", userDN(9001), userDN((9001 % MANAGER_COUNT) + 1)],
      ].sort(),
    );

    // The complete files with the changes applied are what a fresh complete export and ldapsearch read.
    const fresh = await new ExportRun(await tempDir("ldap-fresh"), "ad", ENV).run(
      ldapConnector,
      settings(),
      "complete",
    );
    const now = await readFiles(fresh.file);
    const expected = await expectedFromDirectory();
    for (const table of ["entries", "members", "managers"] as const) {
      const keyWidth = table === "entries" ? 1 : 2;
      const applied = applyChanges(complete[table], changes[table], keyWidth);
      expectSameTable(applied, now[table]);
      expectSameTable(applied, expected[table]);
    }
    await result.commit?.();

    // Nothing changed since: the next incremental export is empty.
    const again = await main.run(ldapConnector, settings(), "incremental");
    expect(again.tables).toEqual({ entries: 0, members: 0, managers: 0 });
    await again.commit?.();
  });

  it("keeps the watermark and the state when the export is not committed", async () => {
    await slapd.modify(`dn: ${userDN(10)}\nchangetype: modify\nreplace: title\ntitle: Uncommitted\n`);
    const first = await main.run(ldapConnector, settings(), "incremental");
    expect(first.tables["entries"]).toBe(1);
    // Not committed (the export of another connection failed): the same change comes again.
    const second = await main.run(ldapConnector, settings(), "incremental");
    const changes = await readCsv(second.file("entries"));
    expect(changes.rows.map((r) => [r[0], r[1]])).toEqual([["update", userDN(10)]]);
    await second.commit?.();
  });

  it("connects with ldaps:// and with StartTLS, trusting the CA file, and refuses an untrusted certificate", async () => {
    const caFile = join(FIXTURES, "ca.pem");
    const small = { baseDNs: [GROUPS], attributes: ["cn"], links: {} };
    const ldaps = await run().run(
      ldapConnector,
      settings({ ...small, url: slapd.tlsUrl, tls: { caFile } }),
      "complete",
    );
    expect(ldaps.tables["entries"]).toBe(GROUP_COUNT);
    const startTls = await run().run(
      ldapConnector,
      settings({
        ...small,
        url: slapd.url.replace("127.0.0.1", "localhost"),
        tls: { caFile, startTLS: true },
      }),
      "complete",
    );
    expect(startTls.tables["entries"]).toBe(GROUP_COUNT);
    const refused = await errorOf(
      run().run(ldapConnector, settings({ ...small, url: slapd.tlsUrl }), "complete"),
    );
    expect(refused.code).toBe("CONNECTOR_TLS_FAILED");
    expect(refused.message).toContain(`LDAP connection "ad"`);
    expect(refused.message).toContain("tls.caFile");
  });

  it("says clearly when the password is wrong, the host unreachable, the secret or the state missing", async () => {
    const badPassword = await errorOf(
      new ExportRun(root, "ad", { LDAP_READER_PASSWORD: "not-the-password" }).run(
        ldapConnector,
        settings(),
        "complete",
      ),
    );
    expect(badPassword.code).toBe("CONNECTOR_AUTH_FAILED");
    expect(badPassword.message).toContain(READER_DN);
    expect(badPassword.message).toContain("$LDAP_READER_PASSWORD");
    expect(badPassword.message).not.toContain("not-the-password");

    const port = await freePort();
    const unreachable = await errorOf(
      run().run(ldapConnector, settings({ url: `ldap://127.0.0.1:${port}`, retries: 1 }), "complete"),
    );
    expect(unreachable.code).toBe("CONNECTOR_UNREACHABLE");
    expect(unreachable.message).toContain(`ldap://127.0.0.1:${port}`);
    expect(unreachable.message).toContain("ECONNREFUSED");
    expect(unreachable.message).toContain("2 attempts");

    const noSecret = await errorOf(new ExportRun(root, "ad", {}).run(ldapConnector, settings(), "complete"));
    expect(noSecret.code).toBe("CONNECTOR_SECRET_MISSING");
    expect(noSecret.message).toContain("LDAP_READER_PASSWORD");

    const noState = await errorOf(
      new ExportRun(await tempDir("ldap-nostate"), "ad", ENV).run(ldapConnector, settings(), "incremental"),
    );
    expect(noState.code).toBe("CONNECTOR_STATE_MISSING");

    const otherSettings = await errorOf(
      main.run(ldapConnector, settings({ attributes: ["cn"] }), "incremental"),
    );
    expect(otherSettings.code).toBe("CONNECTOR_STATE_INVALID");

    const badBase = await errorOf(
      run().run(ldapConnector, settings({ baseDNs: [`ou=Nowhere,${SUFFIX}`] }), "complete"),
    );
    expect(badBase.code).toBe("CONNECTOR_REQUEST_FAILED");
    expect(badBase.message).toContain(`ou=Nowhere,${SUFFIX}`);
  });
});
