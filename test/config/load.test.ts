import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { SyncupError } from "../../src/errors.js";

const env = {};
const parse = (text: string) =>
  parseConfig(text, { file: "/etc/syncup/syncup.yaml", label: "syncup.yaml", env });

const minimal = `
version: 1
entityModel:
  entityTypes:
    Person:
      properties:
        id: { type: string }
        name: { type: string }
        manager: { type: navigation, target: Person, targetColumnIndex: 128 }
        reports: { type: navigation, target: Person }
  associations:
    Person_Manager: { property1: Person.manager, property2: Person.reports }
connectors:
  HR:
    connections:
      hr:
        type: csv
        path: ./hr
        tables:
          people: { file: '^people.*\\.csv$', separator: "," }
    entityTypeMappings:
      Person:
        table: hr_people
        primaryKey: id
        properties: { id: id, name: { column: full_name } }
    entityAssociationMappings:
      Person_Manager: { table: hr_people, column1: id, column2: manager_id }
`;

function problemsOf(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SyncupError);
    expect((error as SyncupError).code).toBe("CONFIG_INVALID");
    return [...(error as SyncupError).details];
  }
  throw new Error("expected the configuration to be refused");
}

describe("configuration", () => {
  it("resolves a valid configuration with defaults, absolute paths and frozen objects", () => {
    const config = parse(minimal);
    expect(config.workDir).toBe("/etc/syncup/work");
    expect(config.exportDir).toBe("/etc/syncup/work/export");
    expect(config.databaseUrl).toBe("sqlite:/etc/syncup/data/syncup.db");
    const hr = config.connectors["HR"];
    expect(hr?.tables["hr_people"]?.format).toMatchObject({
      separator: ",",
      encoding: "utf-8",
      skipLines: 0,
    });
    expect(hr?.entityTypeMappings[0]?.columns).toEqual(["id", "full_name"]);
    expect(hr?.associationMappings[0]).toMatchObject({
      key1: "id",
      key2: "id",
      end1EntityType: "Person",
      columns: ["id", "manager_id"],
    });
    expect(hr?.thresholds.MaximumDeletedLines).toBe(100);
    expect(hr?.thresholds.MaxLinkPercentageDeletedLines).toBe(5);
    expect(config.associations["Person_Manager"]?.end1.monoColumnIndex).toBe(128);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(hr?.entityTypeMappings[0]?.columns)).toBe(true);
  });

  it("takes the database URL from SYNCUP_DATABASE_URL first", () => {
    const config = parseConfig(minimal, {
      file: "/x/syncup.yaml",
      label: "syncup.yaml",
      env: { SYNCUP_DATABASE_URL: "postgres://db/idm" },
    });
    expect(config.databaseUrl).toBe("postgres://db/idm");
  });

  it("lists every problem at once, each with its path and line", () => {
    const text = minimal
      .replace("primaryKey: id", "primaryKey: id\n        colour: blue")
      .replace("table: hr_people, column1", "table: hr_persons, column1")
      .replace("name: { type: string }", "name: { type: text }");
    const problems = problemsOf(text);
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toMatch(
      /entityModel\.entityTypes\.Person\.properties\.name\.type: Invalid option: expected one of "string"\|.*\(line 8\)/,
    );
    expect(problems.join("\n")).toMatch(
      /connectors\.HR\.entityTypeMappings\.Person\.colour: unknown key "colour" \(line \d+\)/,
    );
    // Cross-references are checked once the shape is right.
    const refs = problemsOf(minimal.replace("table: hr_people, column1", "table: hr_persons, column1"));
    expect(refs).toEqual([
      expect.stringMatching(
        /^connectors\.HR\.entityAssociationMappings\.Person_Manager\.table: unknown table "hr_persons" \(this connector has: hr_people\)/,
      ),
    ]);
  });

  it("checks the cross-references of mappings and associations", () => {
    const text = minimal
      .replace(
        "properties: { id: id, name: { column: full_name } }",
        "properties: { id: id, nickname: x, manager: m }",
      )
      .replace(
        "Person_Manager: { table: hr_people, column1: id, column2: manager_id }",
        "Person_Manager: { table: hr_people, column1: id, column2: manager_id, key2: email }",
      )
      .replace("property2: Person.reports", "property2: Person.boss");
    const problems = problemsOf(text).join("\n");
    expect(problems).toContain(
      'entityModel.associations.Person_Manager.property2: "boss" is not a navigation property of "Person"',
    );
    expect(problems).toContain(
      'connectors.HR.entityTypeMappings.Person.properties.nickname: "nickname" is not a scalar property of "Person"',
    );
    expect(problems).toContain(
      'connectors.HR.entityTypeMappings.Person.properties.manager: "manager" is a navigation property',
    );
  });

  it("refuses a unique key that repeats the primary key and a bad file pattern", () => {
    const problems = problemsOf(
      minimal
        .replace("primaryKey: id", "primaryKey: id\n        uniqueKeys: [id]")
        .replace("'^people.*\\.csv$'", "'^people(.csv'"),
    ).join("\n");
    expect(problems).toContain(
      'connectors.HR.entityTypeMappings.Person.uniqueKeys.0: "id" is already a key of this mapping',
    );
    expect(problems).toContain(
      "connectors.HR.connections.hr.tables.people.file: not a valid regular expression",
    );
  });

  it("reports YAML syntax errors with their line", () => {
    expect(problemsOf("version: 1\nentityModel: [\n")[0]).toMatch(/^line \d+, column \d+: /);
  });

  it("names the file when it cannot be read", async () => {
    await expect(loadConfig("/nonexistent/syncup.yaml")).rejects.toThrow(
      /Cannot read the configuration "\/nonexistent\/syncup.yaml": ENOENT/,
    );
  });

  it("loads the quickstart example", async () => {
    const config = await loadConfig("examples/quickstart/syncup.yaml", {});
    expect(Object.keys(config.connectors)).toEqual(["HR", "AD"]);
  });
});
