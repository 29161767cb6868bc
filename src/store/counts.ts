import type { Driver } from "./driver.js";
import type { LinkScope } from "./types.js";

/** The scopes of a connector whose held rows the percentage thresholds compare against. */
export interface CountedScopes {
  readonly entityTypes: readonly string[];
  readonly associations: readonly LinkScope[];
}

/** What the repository holds per entity type and per association of a connector. */
export interface HeldCounts {
  readonly resources: Map<string, number>;
  readonly links: Map<string, number>;
}

interface CountKey {
  readonly kind: string;
  readonly scope: string;
}

interface CountRow {
  kind: string;
  scope: string;
  n: number | string;
}

const keyOf = (kind: string, scope: string) => `${kind}\u0000${scope}`;

/** Where an association's links are counted: its rows, or the non-null values of its column. */
function linkKey(scope: LinkScope): CountKey {
  return scope.mono === null
    ? { kind: "links", scope: scope.association }
    : {
        kind: `i${scope.mono.column}`,
        scope: scope.mono.end === 1 ? scope.end1Type : scope.end2Type,
      };
}

/**
 * `UR_ScopeCounts`: the number of rows each scope of a connector holds, maintained by every
 * load and apply in their own transaction. An apply adjusts them by counting, before and after,
 * only the rows its statements can touch (its staged changes, and the links and references of
 * the resources it deletes), so keeping them costs in proportion to the batch, not to the
 * repository.
 */
export class ScopeCountRepository {
  constructor(private readonly db: Driver) {}

  /** The held counts of `scopes`; a scope without a stored count is counted in full, and stored. */
  async held(connector: string, scopes: CountedScopes): Promise<HeldCounts> {
    const stored = await this.stored(connector);
    const count = async (key: CountKey, full: () => Promise<number>): Promise<number> => {
      const known = stored.get(keyOf(key.kind, key.scope));
      if (known !== undefined) return known;
      const n = await full();
      await this.put(connector, key, n);
      return n;
    };
    const resources = new Map<string, number>();
    for (const entityType of scopes.entityTypes) {
      resources.set(
        entityType,
        await count({ kind: "resources", scope: entityType }, () =>
          this.number("SELECT COUNT(*) AS n FROM UR_Resources WHERE connector = ? AND entity_type = ?", [
            connector,
            entityType,
          ]),
        ),
      );
    }
    const links = new Map<string, number>();
    for (const scope of scopes.associations) {
      const key = linkKey(scope);
      links.set(
        scope.association,
        await count(key, () =>
          scope.mono === null
            ? this.number(
                "SELECT COUNT(*) AS n FROM UR_ResourceLinks WHERE connector = ? AND association = ?",
                [connector, scope.association],
              )
            : this.number(
                `SELECT COUNT(*) AS n FROM UR_Resources WHERE connector = ? AND entity_type = ? AND ${key.kind} IS NOT NULL`,
                [connector, key.scope],
              ),
        ),
      );
    }
    return { resources, links };
  }

  /** After an initial load, which knows what it wrote: the connector's counts, replacing any. */
  async loaded(connector: string, scopes: CountedScopes, held: HeldCounts): Promise<void> {
    await this.forget(connector);
    for (const entityType of scopes.entityTypes) {
      await this.put(
        connector,
        { kind: "resources", scope: entityType },
        held.resources.get(entityType) ?? 0,
      );
    }
    for (const scope of scopes.associations) {
      await this.put(connector, linkKey(scope), held.links.get(scope.association) ?? 0);
    }
  }

  async forget(connector: string): Promise<void> {
    await this.db.run("DELETE FROM UR_ScopeCounts WHERE connector = ?", [connector]);
  }

  /**
   * Call before applying `batchId`, in the apply's transaction; call what it returns after.
   * Counts the touched rows of every stored scope before and after, and adds the difference.
   */
  async track(batchId: string, connector: string): Promise<() => Promise<void>> {
    const tracked = await this.list(connector);
    if (tracked.length === 0) return () => Promise.resolve();
    const monoColumns = [...new Set(tracked.map((c) => c.kind).filter((kind) => /^i1[23]\d$/.test(kind)))];
    const before = await this.touched(batchId, connector, monoColumns);
    return async () => {
      const after = await this.touched(batchId, connector, monoColumns);
      for (const { kind, scope } of tracked) {
        const key = keyOf(kind, scope);
        const delta = (after.get(key) ?? 0) - (before.get(key) ?? 0);
        if (delta === 0) continue;
        await this.db.run(
          "UPDATE UR_ScopeCounts SET n = n + ? WHERE connector = ? AND kind = ? AND scope = ?",
          [delta, connector, kind, scope],
        );
      }
    };
  }

  /**
   * The rows an apply of `batchId` can add or remove, counted per scope as they are now. The
   * staged rows lead each join (CROSS JOIN keeps SQLite from scanning the connector's rows);
   * the links and references of deleted resources are found by the ids alone, which belong to
   * the connector (a connector filter there leads SQLite to scan by it).
   */
  private async touched(
    batchId: string,
    connector: string,
    monoColumns: readonly string[],
  ): Promise<Map<string, number>> {
    const deleted = "SELECT resource_id FROM UR_ResourcesChanges WHERE batch_id = ? AND operation = 'delete'";
    const counts = new Map<string, number>();
    const add = (kind: string, rows: CountRow[]) => {
      for (const r of rows) counts.set(keyOf(kind, r.scope), Number(r.n));
    };
    add(
      "resources",
      await this.db.all<CountRow>(
        `SELECT r.entity_type AS scope, COUNT(DISTINCT r.id) AS n
         FROM UR_ResourcesChanges c CROSS JOIN UR_Resources r
         WHERE c.batch_id = ? AND r.connector = ? AND r.entity_type = c.entity_type AND r.pk = c.pk
         GROUP BY r.entity_type`,
        [batchId, connector],
      ),
    );
    add(
      "links",
      await this.db.all<CountRow>(
        `SELECT t.association AS scope, COUNT(*) AS n FROM (
           SELECT l.association, l.key1, l.key2 FROM UR_ResourceLinkChanges c
           JOIN UR_ResourceLinks l ON l.connector = ? AND l.association = c.association
                                  AND l.key1 = c.key1 AND l.key2 = c.key2
           WHERE c.batch_id = ? AND c.mono_column IS NULL
           UNION SELECT association, key1, key2 FROM UR_ResourceLinks WHERE resource1 IN (${deleted})
           UNION SELECT association, key1, key2 FROM UR_ResourceLinks WHERE resource2 IN (${deleted})
         ) t GROUP BY t.association`,
        [connector, batchId, batchId, batchId],
      ),
    );
    for (const column of monoColumns) {
      const index = Number(column.slice(1));
      const byId = (end: 1 | 2) =>
        `SELECT resource${end}_id AS id FROM UR_ResourceLinkChanges WHERE batch_id = ? AND mono_column = ${index} AND mono_end = ${end}`;
      const byPk = (end: 1 | 2) =>
        `SELECT h.id FROM UR_ResourceLinkChanges c
         JOIN UR_Resources h ON h.connector = ? AND h.entity_type = c.end${end}_type AND h.pk = c.resource${end}_pk
         WHERE c.batch_id = ? AND c.mono_column = ${index} AND c.mono_end = ${end}`;
      add(
        column,
        await this.db.all<CountRow>(
          `SELECT r.entity_type AS scope, COUNT(*) AS n FROM (
             ${byId(1)} UNION ${byId(2)} UNION ${byPk(1)} UNION ${byPk(2)}
             UNION SELECT id FROM UR_Resources WHERE ${column} IN (${deleted})
             UNION ${deleted}
           ) t CROSS JOIN UR_Resources r
           WHERE r.id = t.id AND r.connector = ? AND r.${column} IS NOT NULL
           GROUP BY r.entity_type`,
          [batchId, batchId, connector, batchId, connector, batchId, batchId, batchId, connector],
        ),
      );
    }
    return counts;
  }

  /** The connector's stored counts. */
  async list(connector: string): Promise<{ kind: string; scope: string; n: number }[]> {
    const rows = await this.db.all<CountRow>(
      "SELECT kind, scope, n FROM UR_ScopeCounts WHERE connector = ? ORDER BY kind, scope",
      [connector],
    );
    return rows.map((r) => ({ kind: r.kind, scope: r.scope, n: Number(r.n) }));
  }

  private async stored(connector: string): Promise<Map<string, number>> {
    return new Map((await this.list(connector)).map((r) => [keyOf(r.kind, r.scope), r.n]));
  }

  private async put(connector: string, key: CountKey, n: number): Promise<void> {
    await this.db.run(
      `INSERT INTO UR_ScopeCounts (connector, kind, scope, n) VALUES (?, ?, ?, ?)
       ON CONFLICT (connector, kind, scope) DO UPDATE SET n = excluded.n`,
      [connector, key.kind, key.scope, n],
    );
  }

  private async number(sql: string, params: readonly (string | number)[]): Promise<number> {
    return Number((await this.db.get<{ n: number | string }>(sql, params))?.n ?? 0);
  }
}
