import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

describe("configurations refused when they are loaded rather than when they run", () => {
  const withJob = (schedule: string) =>
    `${minimal}jobs:\n  daily: { connector: HR, mode: complete, schedule: "${schedule}" }\n`;

  it("a YAML alias bomb: a bounded expansion, named with the alias's path and line", () => {
    const levels = "abcdefgh";
    const bomb = [
      "version: 1",
      `a: &a [${Array.from({ length: 10 }, () => '"x"').join(", ")}]`,
      ...[...levels.slice(1)].map(
        (k, i) => `${k}: &${k} [${Array.from({ length: 10 }, () => `*${levels[i]}`).join(", ")}]`,
      ),
    ].join("\n");
    const started = Date.now();
    const problems = problemsOf(bomb);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(problems).toEqual([expect.stringMatching(/^b\.0: this alias .* too much data .*\(line 3\)$/)]);
  });

  it("a cron schedule croner cannot read", () => {
    expect(parse(withJob("0 5 * * *")).jobs["daily"]?.schedule).toBe("0 5 * * *");
    expect(problemsOf(withJob("99 99 * * *"))).toEqual([
      "jobs.daily.schedule: not a valid cron expression: Invalid value for minute: 99 (line 29)",
    ]);
    expect(problemsOf(withJob("0 5 * 13 *"))[0]).toMatch(
      /^jobs\.daily\.schedule: not a valid cron expression: .*month.* \(line 29\)$/,
    );
  });

  it("named administrators: a role each, a real hash, no agent's id, no second admin", () => {
    const hash = "scrypt$16384$8$1$rSNLpgooVuXMGxu8WTE7ZA==$GvnZKiftRKOfrqHGBZ7zhDxIMO2+D1AKD7B8s5abmV8=";
    const withServer = (server: string) => `${minimal}server:\n${server}`;
    const config = parse(
      withServer(`  adminTokenHash: "${hash}"\n  admins:\n    ida: { tokenHash: "${hash}", role: viewer }\n`),
    );
    expect(config.server.admins).toEqual({
      admin: { id: "admin", tokenHash: hash, role: "approver" },
      ida: { id: "ida", tokenHash: hash, role: "viewer" },
    });
    const problems = problemsOf(
      withServer(
        [
          `  adminTokenHash: "${hash}"`,
          "  agents:",
          `    hr-agent: { secretHash: "${hash}", connectors: [HR] }`,
          "  admins:",
          `    hr-agent: { tokenHash: "${hash}", role: approver }`,
          `    admin: { tokenHash: "${hash}", role: viewer }`,
          `    bob: { tokenHash: "not-a-hash", role: approver }`,
          "",
        ].join("\n"),
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^server\.admins\.hr-agent: "hr-agent" is also an agent's id/),
      expect.stringMatching(/^server\.admins\.admin: "admin" is server\.adminTokenHash's approver/),
      expect.stringMatching(/^server\.admins\.bob\.tokenHash: not a secret hash/),
    ]);
    expect(problemsOf(withServer(`  admins:\n    eve: { tokenHash: "${hash}", role: owner }\n`))[0]).toMatch(
      /^server\.admins\.eve\.role: /,
    );
  });

  it("a NUL character in any string", () => {
    expect(problemsOf(minimal.replace("path: ./hr", 'path: "./hr\\0"'))).toEqual([
      "connectors.HR.connections.hr.path: contains a NUL character (\\0), which no path, name or value can hold (line 18)",
    ]);
    expect(problemsOf(`exportDir: "\\0"${minimal}`)[0]).toMatch(/^exportDir: contains a NUL .*\(line 1\)$/);
  });

  it("a separator or quote the CSV reader refuses, at the key that set it", () => {
    const sep = (value: string) => minimal.replace('separator: ","', `separator: ${value}`);
    expect(problemsOf(sep('"\\n"'))).toEqual([
      'connectors.HR.connections.hr.tables.people.separator: separator must be exactly one character other than CR or LF, got "\\n" (line 20)',
    ]);
    expect(problemsOf(sep('"\\r"'))[0]).toMatch(/tables\.people\.separator: separator must be exactly one/);
    expect(problemsOf(sep('"\\0"'))[0]).toMatch(/tables\.people\.separator: contains a NUL character/);
    expect(problemsOf(sep("'\"'"))).toEqual([
      "connectors.HR.connections.hr.tables.people.separator: separator and quote must differ (line 20)",
    ]);
    // Set on the connection, reported there.
    expect(problemsOf(minimal.replace("type: csv", 'type: csv\n        quote: "\\n"'))).toEqual([
      'connectors.HR.connections.hr.quote: quote must be exactly one character other than CR or LF, got "\\n" (line 18)',
    ]);
  });

  it("a property format or multi-value separator the synchronization could not use", () => {
    const typed = (type: string, mapping: string) =>
      minimal
        .replace("name: { type: string }", `name: ${type}`)
        .replace("name: { column: full_name }", `name: ${mapping}`);
    expect(problemsOf(typed("{ type: date-time }", "{ column: hired, format: Y/N }"))).toEqual([
      'connectors.HR.entityTypeMappings.Person.properties.name.format: date-time format "Y/N" lacks yyyy (line 25)',
    ]);
    expect(
      problemsOf(typed("{ type: string, multiValued: true }", '{ column: tags, separator: "" }')),
    ).toEqual([
      "connectors.HR.entityTypeMappings.Person.properties.name.separator: the separator of a multi-valued property cannot be empty (line 25)",
    ]);
  });

  it("a database URL no store opens, from the configuration or the environment", () => {
    const withUrl = (url: string) => `${minimal}database: { url: "${url}" }\n`;
    expect(parse(withUrl("sqlite::memory:")).databaseUrl).toBe("sqlite::memory:");
    expect(parse(withUrl("postgresql://idm@db/idm")).databaseUrl).toBe("postgresql://idm@db/idm");
    expect(problemsOf(withUrl("mysql://root:secret@db/idm"))).toEqual([
      'database.url: unsupported database URL "mysql://…@db/idm": use sqlite:<path>, sqlite::memory: or postgres://user@host/database (line 28)',
    ]);
    expect(problemsOf(withUrl("sqlite:"))[0]).toMatch(/^database\.url: "sqlite:" names no file/);
    expect(problemsOf(withUrl("postgres://db:port/idm"))[0]).toMatch(/is not a valid PostgreSQL URL/);
    expect(() =>
      parseConfig(minimal, {
        file: "/x/syncup.yaml",
        label: "syncup.yaml",
        env: { SYNCUP_DATABASE_URL: "db" },
      }),
    ).toThrow(/database\.url: unsupported database URL "db": .* \(from \$SYNCUP_DATABASE_URL\)/);
  });

  it("a timeout beyond what a Node timer can wait (it would fire after 1 ms)", () => {
    const text = minimal
      .replace(
        "type: csv\n        path: ./hr",
        "type: command\n        command: [export.sh]\n        timeoutSeconds: 99999999",
      )
      .replace("{ file: '^people.*\\.csv$', separator: \",\" }", "{}");
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(
        /^connectors\.HR\.connections\.hr\.timeoutSeconds: Too big: expected number to be <=2147483 \(line 19\)$/,
      ),
    ]);
  });

  it("a file where a folder goes: the work folder, or an ancestor of the export folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "syncup-config-"));
    try {
      const file = join(dir, "afile");
      writeFileSync(file, "not a folder");
      const write = (name: string, text: string) => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      };
      const refused = async (path: string) => {
        const error: unknown = await loadConfig(path, {}).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(SyncupError);
        return [...(error as SyncupError).details];
      };
      expect(await refused(write("a.yaml", `workDir: ./afile${minimal}`))).toEqual([
        `workDir: the work folder "${file}" is a file, not a folder (line 1)`,
      ]);
      expect(await refused(write("b.yaml", `exportDir: ./afile/export${minimal}`))).toEqual([
        `exportDir: the export folder "${file}/export" cannot be made: "${file}" is a file, not a folder (line 1)`,
      ]);
      expect(await refused(write("c.yaml", minimal.replace("path: ./hr", "path: ./afile")))).toEqual([
        `connectors.HR.connections.hr.path: the connection's folder "${file}" is a file, not a folder (line 18)`,
      ]);
      // Folders that do not exist yet are made by the commands.
      const fine = await loadConfig(write("d.yaml", `workDir: ./not/yet${minimal}`), {});
      expect(fine.workDir).toBe(join(dir, "not", "yet"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
