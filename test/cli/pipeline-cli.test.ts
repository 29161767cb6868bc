/** The real `syncup` binary (built by `npm test`), run as a user would run it. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { quickstart as copyQuickstart, syncup as binary } from "./binary.js";

const scratch = mkdtempSync(join(tmpdir(), "syncup-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const syncup = (args: string[]) => binary(args, scratch);
const quickstart = (name: string) => copyQuickstart(join(scratch, name));

describe("syncup CLI: configuration, export, prepare", () => {
  it("prints its help with every subcommand", () => {
    const { code, stdout } = syncup(["--help"]);
    expect(code).toBe(0);
    for (const command of ["config", "export", "prepare"]) expect(stdout).toContain(command);
  });

  it("checks a configuration and lists every problem with exit code 2", () => {
    const config = quickstart("check");
    expect(syncup(["config", "check", "--config", config])).toMatchObject({ code: 0 });
    writeFileSync(
      config,
      readFileSync(config, "utf8")
        .replace("primaryKey: dn", "primaryKey: dn\n        colour: blue")
        .replace("type: int32", "type: integer"),
    );
    const { code, stderr } = syncup(["config", "check", "--config", config]);
    expect(code).toBe(2);
    expect(stderr).toContain("has 2 problems");
    expect(stderr).toContain('connectors.AD.entityTypeMappings.AD_Entry.colour: unknown key "colour"');
    expect(stderr).toContain("entityModel.entityTypes.AD_Entry.properties.userAccountControl.type");
  });

  it("prints a JSON Schema of the configuration", () => {
    const { code, stdout } = syncup(["config", "schema"]);
    expect(code).toBe(0);
    const schema = JSON.parse(stdout) as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["entityModel", "connectors", "jobs"]),
    );
    expect(schema.additionalProperties).toBe(false);
  });

  it("exports and prepares the quickstart's AD connector, with a summary table and --json", () => {
    const config = quickstart("pipeline");
    const exported = syncup(["export", "--config", config, "--connector", "AD"]);
    expect(exported.stderr).toBe("");
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain("ad_entries");
    const prepared = syncup([
      "prepare",
      "--config",
      config,
      "--connector",
      "AD",
      "--mode",
      "complete",
      "--json",
    ]);
    expect(prepared.code).toBe(0);
    const manifest = JSON.parse(prepared.stdout) as {
      summaries: { mapping: string; kept: number; rowsRead: number }[];
    };
    const entries = manifest.summaries.find((s) => s.mapping === "AD_Entry");
    expect(entries?.kept).toBe(entries?.rowsRead);
    expect(existsSync(join(scratch, "pipeline", "work", "AD", "AD_Entry.sorted.csv"))).toBe(true);
    const table = syncup(["prepare", "--config", config, "--connector", "AD"]);
    expect(table.stdout).toMatch(/AD_Entry_Members\s*│\s*\d+/);
  });

  it("refuses a ragged export with exit code 2, naming file and line, and keeps the last good outputs", () => {
    const config = quickstart("ragged");
    expect(syncup(["export", "--config", config, "--connector", "AD"]).code).toBe(0);
    expect(syncup(["prepare", "--config", config, "--connector", "AD"]).code).toBe(0);
    const sorted = join(scratch, "ragged", "work", "AD", "AD_Entry.sorted.csv");
    const before = readFileSync(sorted, "utf8");
    const entries = join(scratch, "ragged", "ad", "ad_entries.csv");
    writeFileSync(entries, `${readFileSync(entries, "utf8")}CN=broken;user\n`);
    const failed = syncup(["export", "--config", config, "--connector", "AD"]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/ad_entries\.csv" line \d+: expected 9 fields, found 2/);
    expect(readFileSync(sorted, "utf8")).toBe(before);
  });

  it("says which option is missing", () => {
    const { code, stderr } = syncup(["export", "--config", quickstart("missing")]);
    expect(code).toBe(2);
    expect(stderr).toContain("--connector");
  });
});
