import type { Dialect, Driver } from "./driver.js";

/**
 * The indexes that a first load into an empty repository builds once its rows are in, instead
 * of maintaining them row by row: building an index from the table (one sort) costs less than
 * inserting into it in the rows' order, which is random for GUID unique keys and link ends
 * (PostgreSQL, 100k resources: about 1 s of 13 s; SQLite: no measurable change). On
 * PostgreSQL the link table's primary key is deferred too: inserting 1.5M links with it took
 * 9–12 s, without it 3.6 s and building it 2 s (the pairs arrive checked, ascending and each
 * once, so the build cannot fail). SQLite stores links in their primary key's order (WITHOUT
 * ROWID): that one stays. So do `UR_Resources_pk`, which the load looks resources up by, and
 * the partial indexes of the mono-valued columns, small and mostly empty (building each would
 * read the whole table). The definitions are those of the migrations; a test checks that a
 * load leaves the schema as migrated.
 */
export interface Deferred {
  readonly drop: string;
  readonly build: string;
}

const UNIQUE_KEYS: readonly Deferred[] = [1, 2, 3].map((n) => ({
  drop: `DROP INDEX UR_Resources_uk${n}`,
  build: `CREATE INDEX UR_Resources_uk${n} ON UR_Resources (connector, entity_type, uk${n}) WHERE uk${n} IS NOT NULL`,
}));
const REFERENCES: readonly Deferred[] = [1, 2].map((n) => ({
  drop: `DROP INDEX UR_ResourceLinks_resource${n}`,
  build: `CREATE INDEX UR_ResourceLinks_resource${n} ON UR_ResourceLinks (resource${n})`,
}));
const LINK_PRIMARY_KEY: Deferred = {
  drop: "ALTER TABLE UR_ResourceLinks DROP CONSTRAINT ur_resourcelinks_pkey",
  build:
    "ALTER TABLE UR_ResourceLinks ADD CONSTRAINT ur_resourcelinks_pkey PRIMARY KEY (connector, association, key1, key2)",
};

/** Rebuilds what `deferIndexes` dropped, in two steps. */
export interface DeferredIndexes {
  /** Once resources are loaded: the unique key indexes, which resolving links by unique key needs. */
  afterResources(): Promise<void>;
  /** Once links are loaded: the indexes of their ends (and on PostgreSQL their primary key). */
  afterLinks(): Promise<void>;
}

const NOTHING_DEFERRED: DeferredIndexes = {
  afterResources: () => Promise.resolve(),
  afterLinks: () => Promise.resolve(),
};

/**
 * In the caller's transaction: when the repository holds no resource and no link, drops the
 * secondary indexes for `DeferredIndexes` to build back. Otherwise changes nothing (rebuilding
 * would cost in proportion to every connector's rows).
 *
 * On PostgreSQL the drop needs both tables to itself until the transaction ends: it is tried
 * without waiting, under a savepoint, and given up (the load then keeps the indexes) when
 * another session uses either table — such as a second initial load checking at the same
 * moment, which would otherwise deadlock with this one. SQLite's write transaction already
 * excludes other writers.
 */
export async function deferIndexes(db: Driver): Promise<DeferredIndexes> {
  if (await holdsRows(db)) return NOTHING_DEFERRED;
  if (db.dialect === "postgres") {
    await db.run("SAVEPOINT syncup_defer_indexes");
    let locked: boolean;
    try {
      await db.run("LOCK TABLE UR_Resources, UR_ResourceLinks IN ACCESS EXCLUSIVE MODE NOWAIT");
      // Rows committed between the first look and the lock: keep the indexes, and no lock.
      locked = !(await holdsRows(db));
    } catch {
      locked = false;
    }
    await db.run(`${locked ? "RELEASE" : "ROLLBACK TO"} SAVEPOINT syncup_defer_indexes`);
    if (!locked) return NOTHING_DEFERRED;
  }
  const links = linkIndexes(db.dialect);
  const build = async (indexes: readonly Deferred[]) => {
    for (const index of indexes) await db.run(index.build);
  };
  for (const index of [...UNIQUE_KEYS, ...links]) await db.run(index.drop);
  return { afterResources: () => build(UNIQUE_KEYS), afterLinks: () => build(links) };
}

function linkIndexes(dialect: Dialect): readonly Deferred[] {
  return dialect === "postgres" ? [LINK_PRIMARY_KEY, ...REFERENCES] : REFERENCES;
}

/** What a first load defers on `dialect`, as statements (the benchmark's floor does the same). */
export function deferredIndexes(dialect: Dialect): readonly Deferred[] {
  return [...UNIQUE_KEYS, ...linkIndexes(dialect)];
}

async function holdsRows(db: Driver): Promise<boolean> {
  return (
    (await db.get("SELECT 1 AS one FROM UR_Resources LIMIT 1")) !== undefined ||
    (await db.get("SELECT 1 AS one FROM UR_ResourceLinks LIMIT 1")) !== undefined
  );
}
