import { batchSeqOf, RESOURCE_SELECT } from "./batch-seq.js";
import { toResource, type ResourceRecord } from "./resource-rows.js";
import { searchResources, type ResourceSearch } from "./resource-search.js";
import { emptyTables, placeholders, type Driver, type SqlValue } from "./driver.js";
import {
  MONO_COLUMNS,
  type ComparedResourceHead,
  type KeyColumn,
  type ResolvedEnd,
  type ResourceRow,
  type HeldResource,
  type StoredResourceHead,
} from "./types.js";

/** A resource row as an initial load writes it. */
export interface NewResource {
  entityType: string;
  pk: string;
  uks: readonly [string | null, string | null, string | null];
  hash: string;
  properties: string;
  sourceHash: string | null;
}

/** `UR_Resources`: reads for synchronization and the CLI, and the initial bulk load. */
export class ResourceRepository {
  constructor(private readonly db: Driver) {}

  /** Resources held per entity type of a connector. */
  async countByEntityType(connector: string): Promise<Map<string, number>> {
    const rows = await this.db.all<{ entity_type: string; n: number }>(
      "SELECT entity_type, COUNT(*) AS n FROM UR_Resources WHERE connector = ? GROUP BY entity_type",
      [connector],
    );
    return new Map(rows.map((r) => [r.entity_type, r.n]));
  }

  async hasAny(connector: string): Promise<boolean> {
    return (
      (await this.db.get("SELECT 1 AS one FROM UR_Resources WHERE connector = ? LIMIT 1", [connector])) !==
      undefined
    );
  }

  /** A connector's resources of one entity type in primary key order, for the complete merge-join. */
  streamHeads(connector: string, entityType: string): AsyncIterable<ComparedResourceHead[]> {
    // Three columns, not the seven of a head: most rows are settled by their source hash, and
    // at 1M resources each column read costs about 0.1 s (see `headsOf`).
    return this.db.stream<ComparedResourceHead>(
      `SELECT id, pk, source_hash AS "sourceHash" FROM UR_Resources
       WHERE connector = ? AND entity_type = ? ORDER BY pk`,
      [connector, entityType],
    );
  }

  /** The heads of some resources, by id (the rows a complete finds different). */
  async headsOf(ids: readonly number[]): Promise<Map<number, StoredResourceHead>> {
    const heads = new Map<number, StoredResourceHead>();
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      const rows = await this.db.all<StoredResourceHead>(
        `SELECT id, pk, uk1, uk2, uk3, hash FROM UR_Resources WHERE id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const row of rows) heads.set(row.id, row);
    }
    return heads;
  }

  /** The resources of some primary keys (incremental). */
  findByPks(connector: string, entityType: string, pks: readonly string[]): Promise<HeldResource[]> {
    return this.db.all<HeldResource>(
      `SELECT id, pk, uk1, uk2, uk3, hash, properties, source_hash FROM UR_Resources
       WHERE connector = ? AND entity_type = ? AND pk IN (${placeholders(pks.length)})`,
      [connector, entityType, ...pks],
    );
  }

  /**
   * Finds resources by key in the repository as it will be once `batchId` is applied: stored
   * resources that the batch leaves alone, and the new values of those it inserts or updates.
   * With `batchId` null: the repository as it is (an initial load, which stages nothing).
   * A value may match several resources when a unique key is not unique in the data.
   */
  resolve(
    batchId: string | null,
    connector: string,
    entityType: string,
    column: KeyColumn,
    values: readonly string[],
  ): Promise<ResolvedEnd[]> {
    const list = placeholders(values.length);
    if (batchId === null) {
      return this.db.all<ResolvedEnd>(
        `SELECT ${column} AS k, id, pk FROM UR_Resources WHERE connector = ? AND entity_type = ? AND ${column} IN (${list})`,
        [connector, entityType, ...values],
      );
    }
    return this.db.all<ResolvedEnd>(
      `SELECT r.${column} AS k, r.id AS id, r.pk AS pk FROM UR_Resources r
       WHERE r.connector = ? AND r.entity_type = ? AND r.${column} IN (${list})
         AND NOT EXISTS (SELECT 1 FROM UR_ResourcesChanges c WHERE c.batch_id = ? AND c.resource_id = r.id)
       UNION ALL
       SELECT c.${column} AS k, c.resource_id AS id, c.pk AS pk FROM UR_ResourcesChanges c
       WHERE c.batch_id = ? AND c.entity_type = ? AND c.operation <> 'delete' AND c.${column} IN (${list})`,
      [connector, entityType, ...values, batchId, batchId, entityType, ...values],
    );
  }

  /**
   * Sets the source hash of resources whose values are still those of `hash` (see
   * `ResourceTranslator.sourceHashOf`): a cache of the complete synchronization, not a change.
   */
  async refreshSourceHashes(
    rows: readonly { id: number; sourceHash: string; hash: string }[],
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await this.db.run(
        `UPDATE UR_Resources SET source_hash = v.column2
         FROM (VALUES ${chunk.map(() => "(CAST(? AS BIGINT), ?, ?)").join(", ")}) AS v
         WHERE UR_Resources.id = v.column1 AND UR_Resources.hash = v.column3`,
        chunk.flatMap((r) => [r.id, r.sourceHash, r.hash]),
      );
    }
  }

  /** Deletes every resource and link of a connector (initial --force). */
  async deleteConnector(connector: string): Promise<void> {
    await this.db.run("DELETE FROM UR_ResourceLinks WHERE connector = ?", [connector]);
    await this.db.run("DELETE FROM UR_Resources WHERE connector = ?", [connector]);
    await this.db.run("DELETE FROM UR_ScopeCounts WHERE connector = ?", [connector]);
    await this.db.run("DELETE FROM UR_PendingLinks WHERE connector = ?", [connector]);
  }

  /**
   * Bulk insert of an initial load (COPY on PostgreSQL, prepared inserts on SQLite). With
   * `into`, the rows take the ids given from `firstId` on (those their keys were given in the
   * scratch table) and their mono-valued columns from `MONO_SCRATCH`: each row is written once,
   * its links in it.
   */
  async insertMany(
    connector: string,
    batchId: string,
    rows: AsyncIterable<NewResource[]>,
    /** `chunk`: rows per COPY (tests only). */
    into?: { readonly firstId: number; readonly chunk?: number },
  ): Promise<number> {
    const seq = await batchSeqOf(this.db, batchId);
    const values = (r: NewResource): SqlValue[] => [
      connector,
      r.entityType,
      r.pk,
      r.uks[0],
      r.uks[1],
      r.uks[2],
      r.hash,
      r.properties,
      r.sourceHash,
      seq,
      seq,
    ];
    if (into === undefined) {
      return this.db.copyRows("UR_Resources", LOADED_COLUMNS, mapBatches(rows, values));
    }
    // In chunks of ids: a COPY holds the connection, so each chunk's mono-valued columns are
    // read before its COPY starts, which then takes rows from `rows` as they come.
    const columns = ["id", ...LOADED_COLUMNS, ...MONO_COLUMNS.map((n) => `i${n}`)];
    const width = MONO_COLUMNS.length;
    // The mono-valued columns of a chunk's rows, row after row (NaN: null), reused chunk after chunk.
    const size = into.chunk ?? INSERT_CHUNK;
    const targets = new Float64Array(size * width);
    const source = rows[Symbol.asyncIterator]();
    let carried: NewResource[] = [];
    let exhausted = false;
    let id = into.firstId;
    while (!exhausted || carried.length > 0) {
      const start = id;
      const end = start + size;
      targets.fill(NaN);
      const held = await this.db.all<{ holder: number; col: number; target: number }>(
        `SELECT holder, col, target FROM ${MONO_SCRATCH} WHERE holder >= ? AND holder < ?`,
        [start, end],
      );
      for (const t of held) {
        targets[(Number(t.holder) - start) * width + Number(t.col) - MONO_COLUMNS[0]] = Number(t.target);
      }
      const chunk = async function* (): AsyncGenerator<SqlValue[][]> {
        while (id < end) {
          if (carried.length === 0) {
            const next = await source.next();
            if (next.done === true) {
              exhausted = true;
              return;
            }
            carried = next.value;
          }
          yield carried.splice(0, end - id).map((r) => {
            const row = [id, ...values(r)];
            const at = (id++ - start) * width;
            for (let i = 0; i < width; i++) {
              const target = targets[at + i]!;
              row.push(Number.isNaN(target) ? null : target);
            }
            return row;
          });
        }
      };
      await this.db.copyRows("UR_Resources", columns, chunk());
    }
    return id - into.firstId;
  }

  /**
   * Opens the scratch tables of an initial load whose mono-valued links are resolved before
   * its resources are written: `RESOURCE_SCRATCH`, the keys of the resources to be loaded with
   * the ids they will have, and `MONO_SCRATCH`, the value of each mono-valued column by id.
   * Returns the first id the load may give: the table is locked against other writers until
   * the transaction ends.
   */
  async openScratch(): Promise<number> {
    // On SQLite the id is the rowid: without it, the planner scans the index for each pair to resolve.
    const id = this.db.dialect === "sqlite" ? "INTEGER PRIMARY KEY" : "BIGINT NOT NULL";
    await this.db.exec(
      `CREATE TEMP TABLE IF NOT EXISTS ${RESOURCE_SCRATCH} (id ${id}, connector TEXT NOT NULL,
         entity_type TEXT NOT NULL, pk TEXT NOT NULL, uk1 TEXT, uk2 TEXT, uk3 TEXT)`,
    );
    await this.db.exec(
      `CREATE TEMP TABLE IF NOT EXISTS ${MONO_SCRATCH} (holder BIGINT NOT NULL, col INTEGER NOT NULL,
         target BIGINT NOT NULL, PRIMARY KEY (holder, col))`,
    );
    await this.emptyScratch();
    if (this.db.dialect === "postgres")
      await this.db.exec("LOCK TABLE UR_Resources IN SHARE ROW EXCLUSIVE MODE");
    const row = await this.db.get<{ m: number | null }>("SELECT MAX(id) AS m FROM UR_Resources");
    return Number(row?.m ?? 0) + 1;
  }

  /** The keys of an entity type's resources, with ids from `firstId` on, into `RESOURCE_SCRATCH`. */
  insertScratchKeys(
    connector: string,
    entityType: string,
    rows: AsyncIterable<(readonly [string, string | null, string | null, string | null])[]>,
    firstId: number,
  ): Promise<number> {
    let id = firstId;
    return this.db.copyRows(
      RESOURCE_SCRATCH,
      ["id", "connector", "entity_type", "pk", "uk1", "uk2", "uk3"],
      mapBatches(rows, (keys) => [id++, connector, entityType, ...keys]),
    );
  }

  /**
   * Indexes the scratch table for resolving link ends by these key columns (the primary key's
   * index is unique: the first pass checked that each key ascends).
   */
  async indexScratch(columns: ReadonlySet<KeyColumn>): Promise<void> {
    for (const column of columns) {
      await this.db.exec(
        `CREATE ${column === "pk" ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${RESOURCE_SCRATCH}_${column} ON ${RESOURCE_SCRATCH} (connector, entity_type, ${column})`,
      );
    }
    await this.db.analyze([RESOURCE_SCRATCH]);
  }

  /** Once the resources given ids by the scratch table are written: moves the id sequence past them, and empties the scratch tables. */
  async closeScratch(): Promise<void> {
    if (this.db.dialect === "postgres") {
      await this.db.get(
        "SELECT setval(pg_get_serial_sequence('ur_resources', 'id'), (SELECT MAX(id) FROM UR_Resources))",
      );
    }
    await this.emptyScratch();
  }

  private async emptyScratch(): Promise<void> {
    await emptyTables(this.db, [RESOURCE_SCRATCH, MONO_SCRATCH]);
  }

  async list(options: {
    connector: string;
    entityType?: string;
    limit: number;
    offset: number;
  }): Promise<ResourceRow[]> {
    const params: SqlValue[] = [options.connector];
    let where = "connector = ?";
    if (options.entityType !== undefined) {
      where += " AND entity_type = ?";
      params.push(options.entityType);
    }
    const rows = await this.db.all<ResourceRecord>(
      `SELECT ${RESOURCE_SELECT} FROM UR_Resources r WHERE ${where} ORDER BY entity_type, pk LIMIT ? OFFSET ?`,
      [...params, options.limit, options.offset],
    );
    return rows.map(toResource);
  }

  /**
   * A page of a connector's resources in (entity type, key) order (`searchResources`).
   */
  search(query: ResourceSearch): Promise<ResourceRow[]> {
    return searchResources(this.db, query);
  }

  /** The resource of a database id. */
  async byId(id: number): Promise<ResourceRow | undefined> {
    const row = await this.db.get<ResourceRecord>(
      `SELECT ${RESOURCE_SELECT} FROM UR_Resources r WHERE id = ?`,
      [id],
    );
    return row === undefined ? undefined : toResource(row);
  }

  /** The resources of a connector with this primary key (one per entity type at most). */
  async get(connector: string, pk: string, entityType?: string): Promise<ResourceRow[]> {
    const params: SqlValue[] = [connector, pk];
    let sql = `SELECT ${RESOURCE_SELECT} FROM UR_Resources r WHERE connector = ? AND pk = ?`;
    if (entityType !== undefined) {
      sql += " AND entity_type = ?";
      params.push(entityType);
    }
    return (await this.db.all<ResourceRecord>(`${sql} ORDER BY entity_type`, params)).map(toResource);
  }

  async byIds(ids: readonly number[]): Promise<{ id: number; entity_type: string; pk: string }[]> {
    if (ids.length === 0) return [];
    return this.db.all(
      `SELECT id, entity_type, pk FROM UR_Resources WHERE id IN (${placeholders(ids.length)})`,
      [...ids],
    );
  }

  /** Resources whose mono-valued columns point to `id`. */
  async referencing(id: number): Promise<ResourceRow[]> {
    const rows = await this.db.all<ResourceRecord>(
      `SELECT * FROM UR_Resources WHERE ${MONO_COLUMNS.map((n) => `i${n} = ?`).join(" OR ")} ORDER BY entity_type, pk`,
      MONO_COLUMNS.map(() => id),
    );
    return rows.map(toResource);
  }
}

/** The columns an initial load writes (`insertMany`). */
const LOADED_COLUMNS = [
  "connector",
  "entity_type",
  "pk",
  "uk1",
  "uk2",
  "uk3",
  "hash",
  "properties",
  "source_hash",
  "batch_seq",
  "created_batch_seq",
] as const;

/** The scratch tables of an initial load (`openScratch`). */
export const RESOURCE_SCRATCH = "syncup_resources";
export const MONO_SCRATCH = "syncup_mono";
/** Rows of an initial load written per COPY when their mono-valued columns are read first. */
const INSERT_CHUNK = 50_000;

/** Maps every row of a stream of batches. */
export async function* mapBatches<T, U>(batches: AsyncIterable<T[]>, map: (row: T) => U): AsyncIterable<U[]> {
  for await (const batch of batches) yield batch.map(map);
}
