/**
 * The SQL connector against real databases, one loop over the dialects: PostgreSQL
 * (127.0.0.1:5432, user postgres, database test) and MariaDB (127.0.0.1:3306, root, database
 * test) started outside the tests (the CI script does), and SQLite in a temporary file. Each
 * dialect gets its own schema/table, dropped afterwards. Values are compared with the source
 * rows in their documented forms; a large result is streamed.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqlConnector } from "../../../src/connectors/sql/index.js";
import { sqlConnectionSchema, type SqlSettings } from "../../../src/connectors/sql/schema.js";
import { SyncupError } from "../../../src/errors.js";
import { ExportRun, freePort, readCsv, removeDir, tempDir } from "../helpers.js";

const NAME = `syncup_conn_test_${process.pid}`;
const LARGE = 200_000;
const COLUMNS = ["id", "name", "amount", "big", "ratio", "flag", "created", "day", "born", "data", "doc"];
const TRICKY_NAME = 'Zoë; "quoted" | pipe \\ back\nslash';

interface Dialect {
  readonly name: string;
  readonly url: () => string;
  readonly table: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** The rows in their documented text forms, as the source holds them. */
  readonly expected: string[][];
  readonly largeQuery: string;
}

let root: string;

/** Fails with what to start when a database the tests need is not there (never skips silently). */
function unavailable(what: string, error: unknown): Error {
  return new Error(
    `The SQL connector tests need ${what}, which is not reachable (${error instanceof Error ? error.message : String(error)}). Start it (the CI script does) and create the database "test".`,
  );
}

const postgres: Dialect = (() => {
  const client = () => new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "test" });
  const table = `${NAME}.people`;
  return {
    name: "PostgreSQL",
    url: () => "postgres://postgres@127.0.0.1:5432/test",
    table,
    async setup() {
      const c = client();
      try {
        await c.connect();
      } catch (error) {
        throw unavailable(
          "PostgreSQL at 127.0.0.1:5432 (user postgres, trust authentication, database test)",
          error,
        );
      }
      try {
        await c.query(`DROP SCHEMA IF EXISTS ${NAME} CASCADE; CREATE SCHEMA ${NAME}`);
        await c.query(`CREATE TABLE ${table} (
          id integer PRIMARY KEY, name text, amount numeric(12,4), big bigint, ratio double precision,
          flag boolean, created timestamptz, day date, born timestamp, data bytea, doc jsonb)`);
        await c.query(
          `INSERT INTO ${table} VALUES
            (1, $1, 1234.5, 9007199254740993, 0.1, true, '2024-01-02 03:04:05.123456+02', '2024-02-29', '2024-01-02 03:04:05', '\\x000102ff', '{"a": 1}'),
            (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (3, '', -0.0001, -1, 1e-300, false, '1999-12-31 23:59:59+00', '1970-01-01', '1999-12-31 23:59:59.5', '\\x', '[]')`,
          [TRICKY_NAME],
        );
      } finally {
        await c.end();
      }
    },
    async teardown() {
      const c = client();
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${NAME} CASCADE`);
      await c.end();
    },
    expected: [
      [
        "1",
        TRICKY_NAME,
        "1234.5000",
        "9007199254740993",
        "0.1",
        "true",
        "2024-01-02T01:04:05.123456Z",
        "2024-02-29",
        "2024-01-02T03:04:05Z",
        "AAEC/w==",
        '{"a": 1}',
      ],
      ["2", "", "", "", "", "", "", "", "", "", ""],
      [
        "3",
        "",
        "-0.0001",
        "-1",
        "1e-300",
        "false",
        "1999-12-31T23:59:59Z",
        "1970-01-01",
        "1999-12-31T23:59:59.5Z",
        "",
        "[]",
      ],
    ],
    largeQuery: `SELECT g AS id, 'name ' || g AS name FROM generate_series(1, ${LARGE}) AS g ORDER BY g`,
  };
})();

const mariadb: Dialect = (() => {
  const connect = () =>
    mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", database: "test" });
  const digits =
    "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
  return {
    name: "MariaDB",
    url: () => "mariadb://root@127.0.0.1:3306/test",
    table: NAME,
    async setup() {
      let c: mysql.Connection;
      try {
        c = await connect();
      } catch (error) {
        throw unavailable(
          "MariaDB (or MySQL) at 127.0.0.1:3306 (user root, empty password, database test)",
          error,
        );
      }
      try {
        await c.query(`DROP TABLE IF EXISTS ${NAME}`);
        await c.query(`CREATE TABLE ${NAME} (
          id INT PRIMARY KEY, name TEXT CHARACTER SET utf8mb4, amount DECIMAL(12,4), big BIGINT, ratio DOUBLE,
          flag BOOLEAN, created TIMESTAMP(6) NULL, day DATE, born DATETIME(6), data VARBINARY(16), doc JSON)`);
        await c.query("SET time_zone = '+00:00'");
        await c.query(
          `INSERT INTO ${NAME} VALUES
            (1, ?, 1234.5, 9007199254740993, 0.1, TRUE, '2024-01-02 01:04:05.123456', '2024-02-29', '2024-01-02 03:04:05', X'000102ff', '{"a":1}'),
            (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (3, '', -0.0001, -1, 1e-300, FALSE, '1999-12-31 23:59:59', '1970-01-01', '1999-12-31 23:59:59.5', X'', '[]')`,
          [TRICKY_NAME],
        );
      } finally {
        await c.end();
      }
    },
    async teardown() {
      const c = await connect();
      await c.query(`DROP TABLE IF EXISTS ${NAME}`);
      await c.end();
    },
    expected: [
      [
        "1",
        TRICKY_NAME,
        "1234.5000",
        "9007199254740993",
        "0.1",
        "true",
        "2024-01-02T01:04:05.123456Z",
        "2024-02-29",
        "2024-01-02T03:04:05.000000Z",
        "AAEC/w==",
        '{"a":1}',
      ],
      ["2", "", "", "", "", "", "", "", "", "", ""],
      [
        "3",
        "",
        "-0.0001",
        "-1",
        "1e-300",
        "false",
        "1999-12-31T23:59:59.000000Z",
        "1970-01-01",
        "1999-12-31T23:59:59.500000Z",
        "",
        "[]",
      ],
    ],
    largeQuery: `SELECT n + 1 AS id, CONCAT('name ', n + 1) AS name FROM (
        SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d AS n
        FROM ${digits} a, ${digits} b, ${digits} c, ${digits} e, ${digits} f, ${digits} g) AS numbers
      WHERE n < ${LARGE} ORDER BY n`,
  };
})();

const sqlite: Dialect = (() => {
  const file = () => join(root, "source.sqlite");
  return {
    name: "SQLite",
    url: () => `sqlite:${file()}`,
    table: "people",
    setup() {
      const db = new Database(file());
      db.exec(`CREATE TABLE people (
        id INTEGER PRIMARY KEY, name TEXT, amount REAL, big INTEGER, ratio REAL,
        flag INTEGER, created TEXT, day TEXT, born TEXT, data BLOB, doc TEXT)`);
      const insert = db.prepare("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      insert.run(
        1,
        TRICKY_NAME,
        1234.5,
        9007199254740993n,
        0.1,
        1,
        "2024-01-02T01:04:05.123456Z",
        "2024-02-29",
        "2024-01-02 03:04:05",
        Buffer.from([0, 1, 2, 255]),
        '{"a":1}',
      );
      insert.run(2, null, null, null, null, null, null, null, null, null, null);
      insert.run(
        3,
        "",
        -0.0001,
        -1,
        1e-300,
        0,
        "1999-12-31T23:59:59Z",
        "1970-01-01",
        "1999-12-31 23:59:59.5",
        Buffer.alloc(0),
        "[]",
      );
      db.close();
      return Promise.resolve();
    },
    teardown: () => Promise.resolve(),
    expected: [
      [
        "1",
        TRICKY_NAME,
        "1234.5",
        "9007199254740993",
        "0.1",
        "1",
        "2024-01-02T01:04:05.123456Z",
        "2024-02-29",
        "2024-01-02 03:04:05",
        "AAEC/w==",
        '{"a":1}',
      ],
      ["2", "", "", "", "", "", "", "", "", "", ""],
      [
        "3",
        "",
        "-0.0001",
        "-1",
        "1e-300",
        "0",
        "1999-12-31T23:59:59Z",
        "1970-01-01",
        "1999-12-31 23:59:59.5",
        "",
        "[]",
      ],
    ],
    largeQuery: `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${LARGE})
      SELECT n AS id, 'name ' || n AS name FROM seq`,
  };
})();

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
  root = await tempDir("sql");
});

afterAll(async () => {
  await removeDir(root);
});

describe.each([postgres, mariadb, sqlite])("SQL connector against $name", (dialect) => {
  const settings = (overrides: Record<string, unknown> = {}): SqlSettings =>
    sqlConnectionSchema.parse({
      type: "sql",
      url: dialect.url(),
      tables: {
        people: { query: `SELECT ${COLUMNS.join(", ")} FROM ${dialect.table} ORDER BY id;` },
        large: { query: dialect.largeQuery },
      },
      fetchSize: 5000,
      timeoutSeconds: 20,
      retries: 0,
      ...overrides,
    });

  beforeAll(async () => {
    await dialect.setup();
  });
  afterAll(async () => {
    await dialect.teardown();
  });

  it("writes each query's rows with the documented forms of its types and NULLs, and streams a large result", async () => {
    const run = new ExportRun(root, "db");
    const result = await run.run(sqlConnector, settings(), "complete");
    expect(result.tables).toEqual({ people: 3, large: LARGE });
    const people = await readCsv(result.file("people"));
    expect(people.header).toEqual(COLUMNS);
    expect(people.rows).toEqual(dialect.expected);

    const large = await readCsv(result.file("large"));
    expect(large.header).toEqual(["id", "name"]);
    expect(large.rows.length).toBe(LARGE);
    large.rows.forEach((row, i) => {
      if (row[0] !== String(i + 1) || row[1] !== `name ${i + 1}`)
        throw new Error(`row ${i + 1} is ${JSON.stringify(row)}`);
    });
    // Read in batches of fetchSize, not at once.
    const batches = run.progress.filter(([table]) => table === "db_large");
    expect(batches.length).toBeGreaterThanOrEqual(LARGE / 5000);
    expect(batches.at(-1)?.[1]).toBe(LARGE);
  });

  it("names the table and the database when a query fails, and refuses repeated column names", async () => {
    const bad = await errorOf(
      new ExportRun(root, "db").run(
        sqlConnector,
        settings({ tables: { broken: { query: "SELECT nope FROM nowhere_at_all" } } }),
        "complete",
      ),
    );
    expect(bad.code).toBe("CONNECTOR_REQUEST_FAILED");
    expect(bad.message).toContain('table "broken"');
    expect(bad.message).toContain("tables.broken.query");

    const twice = await errorOf(
      new ExportRun(root, "db").run(
        sqlConnector,
        settings({ tables: { twice: { query: `SELECT id, name AS id FROM ${dialect.table}` } } }),
        "complete",
      ),
    );
    expect(twice.code).toBe("CONFIG_INVALID");
    expect(twice.message).toContain('"id"');
  });
});

describe("SQL connector errors", () => {
  it("says clearly when the host is unreachable, the login refused, the database or the file missing", async () => {
    const port = await freePort();
    const unreachable = await errorOf(
      new ExportRun(root, "db").run(
        sqlConnector,
        sqlConnectionSchema.parse({
          type: "sql",
          url: `postgres://postgres@127.0.0.1:${port}/test`,
          tables: { t: { query: "SELECT 1" } },
          retries: 1,
        }),
        "complete",
      ),
    );
    expect(unreachable.code).toBe("CONNECTOR_UNREACHABLE");
    expect(unreachable.message).toContain(`127.0.0.1:${port}/test`);
    expect(unreachable.message).toContain("2 attempts");

    const refused = await errorOf(
      new ExportRun(root, "db", { DB_PASSWORD: "certainly-wrong" }).run(
        sqlConnector,
        sqlConnectionSchema.parse({
          type: "sql",
          url: "mariadb://syncup_nobody@127.0.0.1:3306/test",
          passwordEnv: "DB_PASSWORD",
          tables: { t: { query: "SELECT 1" } },
          retries: 0,
        }),
        "complete",
      ),
    );
    expect(refused.code).toBe("CONNECTOR_AUTH_FAILED");
    expect(refused.message).toContain('"syncup_nobody"');
    expect(refused.message).toContain("$DB_PASSWORD");
    expect(refused.message).not.toContain("certainly-wrong");

    const noDatabase = await errorOf(
      new ExportRun(root, "db").run(
        sqlConnector,
        sqlConnectionSchema.parse({
          type: "sql",
          url: "postgres://postgres@127.0.0.1:5432/syncup_no_such_database",
          tables: { t: { query: "SELECT 1" } },
          retries: 0,
        }),
        "complete",
      ),
    );
    expect(noDatabase.code).toBe("CONNECTOR_REQUEST_FAILED");
    expect(noDatabase.message).toContain("does not exist");

    const noFile = await errorOf(
      new ExportRun(root, "db").run(
        sqlConnector,
        sqlConnectionSchema.parse({
          type: "sql",
          url: `sqlite:${join(root, "missing.sqlite")}`,
          tables: { t: { query: "SELECT 1" } },
        }),
        "complete",
      ),
    );
    expect(noFile.code).toBe("CONNECTOR_UNREACHABLE");
    expect(noFile.message).toContain("missing.sqlite");
  });
});
