/**
 * An export of changes (a `command` column) whose entity file also holds an association (the
 * manager column of the people file), through the whole pipeline on both dialects: a row
 * changes its person's manager as it changes the person, and `previous/` ends equal to what a
 * complete export of the same people gives.
 */
import fc from "fast-check";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
    thresholds: { MaxPercentageInsertedLines: 0, MaxPercentageUpdatedLines: 0, MaxPercentageDeletedLines: 0, MaxLinkPercentageInsertedLines: 0, MaxLinkPercentageDeletedLines: 0 }
    connections:
      hr: { type: csv, path: ./source, tables: { people: { file: '^people\\.csv$' } } }
    entityTypeMappings:
      Person: { table: hr_people, primaryKey: id, properties: { id: id, name: name } }
    entityAssociationMappings:
      Person_Manager: { table: hr_people, column1: id, column2: mgr }
`;

type Person = [id: string, name: string, mgr: string];

function people(n: number): Person[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `P${String(i + 1).padStart(3, "0")}`;
    return [id, `Person ${i + 1}`, i < 2 ? "" : i < 10 ? "P001" : "P002"];
  });
}

describe.each(databases)("an association in the entity file of an export of changes on $dialect", (db) => {
  function setUp(dir: string) {
    mkdirSync(join(dir, "source"), { recursive: true });
    writeFileSync(join(dir, "syncup.yaml"), CONFIG);
    return parseConfig(CONFIG, { file: join(dir, "syncup.yaml"), label: "syncup.yaml", env: {} });
  }
  const write = (dir: string, lines: string[]) =>
    writeFileSync(join(dir, "source", "people.csv"), `${lines.join("\n")}\n`);
  const complete = (list: Person[]) => ["id;name;mgr", ...list.map((p) => p.join(";"))];

  it("update replaces the person's pairs, delete removes them, merge changes them only when its cell is set", async () => {
    const dir = tempDir();
    const config = setUp(dir);
    const store = await openStore(db.url());
    try {
      const before = people(20);
      write(dir, complete(before));
      await runConnector(config, store, "HR", "initial");
      write(dir, [
        "command;id;name;mgr",
        "Update;P006;Person 6;P002",
        "delete;P018;;",
        "merge;P007;Person seven;",
        "merge;P008;;P002",
        "update;P009;Person 9;",
        "insert;P021;Person 21;P003",
      ]);
      const run = await runConnector(config, store, "HR", "incremental");
      expect(run.sync).toMatchObject({
        state: "applied",
        resources: { inserted: 1, updated: 1, deleted: 1 },
        links: { inserted: 3, deleted: 4 },
        orphans: 0,
        monoConflicts: 0,
      });
      expect(run.prepare.find((s) => s.mapping === "Person")).toMatchObject({ nullKeys: 0 });
      expect(run.prepare.find((s) => s.mapping === "Person_Manager")).toMatchObject({ nullKeys: 0 });

      const after = before
        .filter(([id]) => id !== "P018")
        .map((p): Person => {
          if (p[0] === "P006") return ["P006", "Person 6", "P002"];
          if (p[0] === "P007") return ["P007", "Person seven", p[2]];
          if (p[0] === "P008") return ["P008", p[1], "P002"];
          if (p[0] === "P009") return ["P009", "Person 9", ""];
          return p;
        });
      after.push(["P021", "Person 21", "P003"]);

      // previous/ holds what a complete export of the same people gives.
      const expectedDir = tempDir();
      const expectedConfig = setUp(expectedDir);
      const expectedStore = await openStore(db.url());
      try {
        write(expectedDir, complete(after));
        await runConnector(expectedConfig, expectedStore, "HR", "initial");
        const previous = (d: string) =>
          readFileSync(join(d, "work", "HR", "previous", "Person_Manager.sorted.csv"), "utf8");
        expect(previous(dir)).toBe(previous(expectedDir));
        expect(await snapshot(store)).toEqual(await snapshot(expectedStore));
      } finally {
        await expectedStore.close();
      }
      const held = await snapshot(store);
      expect(held.mono).toContain("Person:P006 i128 Person:P002");
      expect(held.mono.some((m) => m.startsWith("Person:P009 "))).toBe(false);
      expect(held.mono).toContain("Person:P007 i128 Person:P001");

      // And the next incremental of the same changes' result, as a complete export, finds nothing to do.
      write(dir, complete(after));
      const again = await runConnector(config, store, "HR", "incremental");
      expect(again.sync).toMatchObject({
        state: "applied",
        resources: { inserted: 0, updated: 0, deleted: 0 },
        links: { inserted: 0, deleted: 0 },
      });
    } finally {
      await store.close();
    }
  });
});

describe.each(databases)(
  "exports of changes with an association in the entity file, as a property, on $dialect",
  (db) => {
    const IDS = ["P1", "P2", "P3", "P4", "P5", "P6"];
    interface State {
      /** Present people: index → [version, manager index or -1]. */
      people: Map<number, [number, number]>;
    }
    const stateArb: fc.Arbitrary<State> = fc
      .uniqueArray(
        fc.tuple(fc.nat(IDS.length - 1), fc.nat(2), fc.integer({ min: -1, max: IDS.length - 1 })),
        {
          selector: (p) => p[0],
          maxLength: IDS.length,
        },
      )
      .map((rows) => ({ people: new Map(rows.map(([i, v, m]) => [i, [v, m]])) }));
    const row = (i: number, [v, m]: [number, number]): Person => [
      IDS[i]!,
      `Name ${i} v${v}`,
      m < 0 ? "" : IDS[m]!,
    ];
    const completeLines = (s: State) => [
      "id;name;mgr",
      ...[...s.people].map(([i, p]) => row(i, p).join(";")),
    ];
    /** The changes from `a` to `b`, each written one of the ways a source could write it. */
    const changeLines = (a: State, b: State, style: number) => {
      const lines = ["command;id;name;mgr"];
      for (let i = 0; i < IDS.length; i++) {
        const before = a.people.get(i);
        const after = b.people.get(i);
        const [id, name, mgr] = after === undefined ? [IDS[i]!, "", ""] : row(i, after);
        if (before === undefined && after !== undefined) lines.push(`Insert;${id};${name};${mgr}`);
        else if (before !== undefined && after === undefined)
          lines.push(
            style % 2 === 0 ? `delete;${id};;` : `delete;${id};${row(i, before)[1]};${row(i, before)[2]}`,
          );
        else if (before !== undefined && after !== undefined) {
          const old = row(i, before);
          if (old[1] === name && old[2] === mgr) {
            if (style % 3 === 0) lines.push(`merge;${id};;`);
          } else if (mgr !== "" && style % 2 === 1) {
            // A merge carries the cells that changed (the manager always, when set).
            lines.push(`merge;${id};${old[1] === name ? "" : name};${mgr}`);
          } else if (style % 5 === 0) {
            // Deleted and created again in the same export.
            lines.push(`delete;${id};;`, `insert;${id};${name};${mgr}`);
          } else {
            lines.push(`update;${id};${name};${mgr}`);
          }
        }
      }
      return lines;
    };

    it("any chain of change exports and complete exports ends where one initial load of the final state ends", async () => {
      await fc.assert(
        fc.asyncProperty(
          stateArb,
          fc.array(fc.record({ state: stateArb, complete: fc.boolean(), style: fc.nat(29) }), {
            minLength: 1,
            maxLength: 4,
          }),
          async (first, steps) => {
            const dir = tempDir();
            mkdirSync(join(dir, "source"), { recursive: true });
            const config = parseConfig(CONFIG, {
              file: join(dir, "syncup.yaml"),
              label: "syncup.yaml",
              env: {},
            });
            const write = (lines: string[]) =>
              writeFileSync(join(dir, "source", "people.csv"), `${lines.join("\n")}\n`);
            const store = await openStore(db.url());
            try {
              write(completeLines(first));
              await runConnector(config, store, "HR", "initial");
              let current = first;
              for (const step of steps) {
                write(
                  step.complete ? completeLines(step.state) : changeLines(current, step.state, step.style),
                );
                const run = await runConnector(
                  config,
                  store,
                  "HR",
                  step.complete ? "complete" : "incremental",
                );
                expect(run.sync!.state).toBe("applied");
                expect((await snapshot(store)).pending).toHaveLength(
                  run.sync!.orphans + run.sync!.monoConflicts,
                );
                current = step.state;
              }
              const fresh = tempDir();
              mkdirSync(join(fresh, "source"), { recursive: true });
              writeFileSync(join(fresh, "source", "people.csv"), `${completeLines(current).join("\n")}\n`);
              const freshConfig = parseConfig(CONFIG, {
                file: join(fresh, "syncup.yaml"),
                label: "syncup.yaml",
                env: {},
              });
              const expected = await openStore(db.url());
              try {
                await runConnector(freshConfig, expected, "HR", "initial");
                expect(await snapshot(store)).toEqual(await snapshot(expected));
                const previous = (d: string) =>
                  readFileSync(join(d, "work", "HR", "previous", "Person_Manager.sorted.csv"), "utf8");
                expect(previous(dir)).toBe(previous(fresh));
              } finally {
                await expected.close();
              }
            } finally {
              await store.close();
            }
          },
        ),
        { numRuns: Number(process.env["SYNCUP_PROPERTY_RUNS"] ?? 8) },
      );
    }, 300_000);
  },
);
