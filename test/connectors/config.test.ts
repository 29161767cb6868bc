/** The native connections in syncup.yaml: validated at the edge, tables known, secrets never inline. */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { nativeConnector } from "../../src/connectors/index.js";
import { SyncupError } from "../../src/errors.js";

function config(connections: string, mappings = "") {
  return `
version: 1
entityModel:
  entityTypes:
    Entry:
      properties:
        dn: { type: string }
        members: { type: navigation, target: Entry }
        memberOf: { type: navigation, target: Entry }
  associations:
    Entry_Members: { property1: Entry.members, property2: Entry.memberOf }
connectors:
  Dir:
    connections:
${connections}
    entityTypeMappings:
      Entry: { table: ad_entries, primaryKey: dn, properties: { dn: dn } }
    entityAssociationMappings:
      Entry_Members: { table: ad_members, column1: dn, column2: member }
${mappings}
`;
}

const parse = (text: string) =>
  parseConfig(text, { file: "/etc/syncup/syncup.yaml", label: "syncup.yaml", env: {} });

function problems(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SyncupError);
    return [...(error as SyncupError).details];
  }
  throw new Error("expected the configuration to be refused");
}

const LDAP = `      ad:
        type: ldap
        url: ldaps://dc1.example.com
        bindDN: CN=svc-syncup,OU=Service,DC=example,DC=com
        passwordFile: secrets/ad.txt
        tls: { caFile: certs/ca.pem }
        baseDNs: ["DC=example,DC=com"]
        filter: "(|(objectClass=user)(objectClass=group))"
        attributes: [objectClass, sAMAccountName, objectGUID]
        links: { members: member, managers: manager }
        timestampAttribute: whenChanged`;

describe("native connections in the configuration", () => {
  it("resolves LDAP, SCIM and SQL connections, their tables and their paths", () => {
    const resolved = parse(
      config(`${LDAP}
      idp:
        type: scim
        baseUrl: https://idp.example.com/scim/v2
        auth: { type: bearer, tokenEnv: SCIM_TOKEN }
      hr:
        type: sql
        url: sqlite:data/hr.db
        tables: { people: { query: "SELECT * FROM people" } }`),
    );
    const connector = resolved.connectors["Dir"];
    expect(Object.keys(connector?.tables ?? {}).sort()).toEqual(
      [
        "ad_entries",
        "ad_managers",
        "ad_members",
        "hr_people",
        "idp_groupmembers",
        "idp_groups",
        "idp_users",
      ].sort(),
    );
    const ad = connector?.connections["ad"];
    expect(ad).toMatchObject({ type: "native", kind: "ldap" });
    const settings = (ad as { settings: Record<string, unknown> }).settings;
    expect(settings["passwordFile"]).toBe("/etc/syncup/secrets/ad.txt");
    expect(settings["tls"]).toMatchObject({ caFile: "/etc/syncup/certs/ca.pem", startTLS: false });
    expect(settings["pageSize"]).toBe(500);
    expect(settings["baseDNs"]).toEqual(["DC=example,DC=com"]);
    const hr = connector?.connections["hr"] as { settings: Record<string, unknown> };
    expect(hr.settings["url"]).toBe("sqlite:/etc/syncup/data/hr.db");
  });

  it("refuses inline secrets, a bind without a password source, and unknown keys", () => {
    const found = problems(
      config(`      ad:
        type: ldap
        url: ldap://dc1.example.com
        bindDN: cn=svc
        password: hunter2
        baseDNs: [dc=example]
        attributes: [cn]
      idp:
        type: scim
        baseUrl: https://idp.example.com/scim/v2
        auth: { type: bearer, token: abc }`),
    );
    expect(found.join("\n")).toContain("password");
    expect(found.join("\n")).toContain("token");
    expect(found.join("\n")).not.toContain("hunter2");
  });

  it("accepts the example connections of docs/connectors.md", async () => {
    const doc = await readFile(new URL("../../docs/connectors.md", import.meta.url), "utf8");
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    expect(blocks.length).toBe(3);
    for (const block of blocks) {
      const parsed = parseYaml(block) as {
        connectors: Record<string, { connections: Record<string, { type: string }> }>;
      };
      for (const connector of Object.values(parsed.connectors)) {
        for (const connection of Object.values(connector.connections)) {
          const native = await nativeConnector(connection.type);
          expect(native, connection.type).toBeDefined();
          const result = native?.schema.safeParse(connection);
          expect(result?.error?.issues ?? [], JSON.stringify(connection)).toEqual([]);
        }
      }
    }
  });
});
