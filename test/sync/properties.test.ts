/**
 * Properties of the synchronization on random small exports, on both dialects. Keys mix
 * ASCII, accents, characters above U+FFFF and CSV specials, so that the file order, SQLite's
 * BINARY and PostgreSQL's "C" order must agree.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, synchronize, validateBatch, type Store } from "../../src/sync/index.js";
import type { SynchronizeOptions } from "../../src/sync/types.js";
import { testDatabases } from "../store/dialects.js";
import {
  CONNECTOR,
  snapshot,
  tempDir,
  testConfig,
  writeComplete,
  writeIncremental,
  type Dataset,
  type TestConfigOptions,
} from "./helpers.js";

const databases = testDatabases();
afterAll(async () => {
  for (const db of databases) await db.cleanup();
});

const IDS = ["a", "B", "b", "a b", "é", "e\u0301", "😀", "\uff5e", "a;b", 'q"t', "z", "Ω"];
const GROUPS = ["g1", "G2", "ǵ3", "g 4"];
const RUNS = Number(process.env["SYNCUP_PROPERTY_RUNS"] ?? 8);

interface Spec {
  users: { index: number; version: number; mail: number }[];
  groups: number[];
  members: [number, number][];
  managers: [number, number][];
  /** Links to absent ends and second managers (orphans and mono-valued conflicts). */
  noise: [number, number][];
  /** Moves the unique key (mail) values between users: links through them must follow. */
  shift: number;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  users: fc.uniqueArray(fc.record({ index: fc.nat(IDS.length - 1), version: fc.nat(2), mail: fc.nat(1) }), {
    selector: (u) => u.index,
    maxLength: IDS.length,
  }),
  groups: fc.uniqueArray(fc.nat(GROUPS.length - 1), { maxLength: GROUPS.length }),
  members: fc.array(fc.tuple(fc.nat(GROUPS.length - 1), fc.nat(IDS.length - 1)), { maxLength: 20 }),
  managers: fc.array(fc.tuple(fc.nat(IDS.length - 1), fc.nat(IDS.length - 1)), { maxLength: 12 }),
  noise: fc.array(fc.tuple(fc.nat(IDS.length + 2), fc.nat(IDS.length + 2)), { maxLength: 4 }),
  shift: fc.nat(IDS.length - 1),
});

/**
 * The export a spec describes. `noise`: links whose ends are missing, second managers.
 * `moveMails`: mail values move from user to user between exports (never shared at once).
 */
function toDataset(spec: Spec, noise: boolean, moveMails = noise): Dataset {
  const present = new Map(spec.users.map((u) => [u.index, u]));
  const mailOf = (i: number) =>
    moveMails
      ? `u${(i + spec.shift) % IDS.length}@example.com`
      : `u${i}.m${present.get(i)?.mail ?? 0}@example.com`;
  const users = spec.users.map((u) => ({
    id: IDS[u.index] ?? "?",
    mail: mailOf(u.index),
    name: `Name ${u.index};${u.version}`,
    age: String(20 + u.version),
    active: u.version === 1 ? "N" : "Y",
    hired: `0${1 + u.version}/01/2020`,
  }));
  const groups = spec.groups.map((g) => ({ name: GROUPS[g] ?? "?", label: `Label ${g}` }));
  const pairs = new Map<string, [string, string]>();
  for (const [g, u] of spec.members) {
    if (spec.groups.includes(g) && present.has(u)) pairs.set(`${g}:${u}`, [GROUPS[g] ?? "?", mailOf(u)]);
  }
  const managers = new Map<string, [string, string]>();
  for (const [u, m] of spec.managers) {
    if (present.has(u) && present.has(m) && !managers.has(IDS[u] ?? ""))
      managers.set(IDS[u] ?? "", [IDS[u] ?? "", IDS[m] ?? ""]);
  }
  const members = [...pairs.values()];
  const managerRows = [...managers.values()];
  if (noise) {
    for (const [a, b] of spec.noise) {
      members.push([GROUPS[a % GROUPS.length] ?? "g", `ghost${b}@example.com`]);
      const holder = IDS[a % IDS.length] ?? "a";
      const row: [string, string] = [holder, b >= IDS.length ? `ghost${b}` : (IDS[b] ?? "")];
      if (!managerRows.some(([h, m]) => h === row[0] && m === row[1])) managerRows.push(row);
    }
  }
  return { users, groups, members: dedupe(members), managers: managerRows };
}

function dedupe(pairs: [string, string][]): [string, string][] {
  return [...new Map(pairs.map((p) => [`${p[0]}\u0000${p[1]}`, p])).values()];
}

describe.each(databases)("synchronization properties on $dialect", (db) => {
  async function withStores<T>(
    count: number,
    fn: (stores: { store: Store; workDir: string }[]) => Promise<T>,
  ): Promise<T> {
    const stores = await Promise.all(
      Array.from({ length: count }, async () => ({ store: await openStore(db.url()), workDir: tempDir() })),
    );
    try {
      return await fn(stores);
    } finally {
      for (const s of stores) await s.store.close();
    }
  }
  const run = (
    s: { store: Store; workDir: string },
    mode: SynchronizeOptions["mode"],
    config: TestConfigOptions = {},
    extra: Partial<SynchronizeOptions> = {},
  ) =>
    synchronize({
      store: s.store,
      config: testConfig(s.workDir, config),
      connector: CONNECTOR,
      mode,
      ...extra,
    });

  it("complete twice = complete once = an initial load; initial then complete of the same data = no change", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, specArb, fc.boolean(), async (first, second, noise) =>
        withStores(2, async ([s, fresh]) => {
          if (s === undefined || fresh === undefined) throw new Error("store");
          await writeComplete(s.workDir, toDataset(first, noise), "initial");
          await run(s, "initial");
          await writeComplete(s.workDir, toDataset(first, noise));
          const same = await run(s, "complete");
          expect(same).toMatchObject({
            resources: { inserted: 0, updated: 0, deleted: 0 },
            links: { inserted: 0, deleted: 0 },
          });

          await writeComplete(s.workDir, toDataset(second, noise));
          await run(s, "complete");
          const once = await snapshot(s.store);
          const twice = await run(s, "complete");
          expect(twice).toMatchObject({
            resources: { inserted: 0, updated: 0, deleted: 0 },
            links: { inserted: 0, deleted: 0 },
          });
          expect(await snapshot(s.store)).toEqual(once);

          await writeComplete(fresh.workDir, toDataset(second, noise), "initial");
          await run(fresh, "initial");
          expect(once).toEqual(await snapshot(fresh.store));
        }),
      ),
      { numRuns: RUNS },
    );
  });

  // With noise: links to absent ends, second managers, mails moving between users (pending
  // pairs that resolve, conflicts that change winner, links re-keyed).
  it("a chain of incrementals ends where one complete of the final export ends", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 2, maxLength: 4 }), async (specs) =>
        withStores(2, async ([a, b]) => {
          if (a === undefined || b === undefined) throw new Error("store");
          const exports = specs.map((spec) => toDataset(spec, true));
          const first = exports[0] as Dataset;
          const last = exports.at(-1) as Dataset;
          for (const s of [a, b]) {
            await writeComplete(s.workDir, first, "initial");
            await run(s, "initial");
          }
          for (let i = 1; i < exports.length; i++) {
            await writeIncremental(a.workDir, exports[i - 1] as Dataset, exports[i] as Dataset);
            expect((await run(a, "incremental")).state).toBe("applied");
          }
          await writeComplete(b.workDir, last);
          await run(b, "complete");
          expect(await snapshot(a.store)).toEqual(await snapshot(b.store));
        }),
      ),
      { numRuns: RUNS },
    );
  });

  it("blocked then validated = forced", async () => {
    const tight = {
      thresholds: {
        MaximumInsertedLines: 1,
        MaximumDeletedLines: 1,
        MaximumLinkInsertedLines: 1,
        MaxPercentageUpdatedLines: 10,
      },
    };
    await fc.assert(
      fc.asyncProperty(specArb, specArb, fc.boolean(), async (before, after, noise) =>
        withStores(2, async ([a, b]) => {
          if (a === undefined || b === undefined) throw new Error("store");
          for (const s of [a, b]) {
            await writeComplete(s.workDir, toDataset(before, noise), "initial");
            await run(s, "initial");
            await writeComplete(s.workDir, toDataset(after, noise));
          }
          const report = await run(a, "complete", tight);
          if (report.state === "blocked") {
            const held = await snapshot(a.store);
            expect(held).toEqual(await snapshot(b.store));
            await validateBatch(a.store, report.batchId, { config: testConfig(a.workDir, tight) });
          }
          const forced = await run(b, "complete", tight, { force: true });
          expect(forced.crossed.length > 0).toBe(report.state === "blocked");
          expect(await snapshot(a.store)).toEqual(await snapshot(b.store));
        }),
      ),
      { numRuns: RUNS },
    );
  });
});
