import { describe, expect, it } from "vitest";
import { parseSqlUrl } from "./url.js";
import { duplicateColumns, isoDateTime, mysqlText, postgresText, sqliteText } from "./values.js";

describe("SQL values as text", () => {
  it("converts PostgreSQL's text of booleans, bytea and timestamps", () => {
    expect(postgresText(16, "t")).toBe("true");
    expect(postgresText(16, "f")).toBe("false");
    expect(postgresText(17, "\\x000102ff")).toBe("AAEC/w==");
    expect(postgresText(1184, "2024-01-02 01:04:05.123456+00")).toBe("2024-01-02T01:04:05.123456Z");
    expect(postgresText(1114, "2024-01-02 01:04:05")).toBe("2024-01-02T01:04:05Z");
    expect(postgresText(1114, "infinity")).toBe("infinity");
    expect(postgresText(1700, "1234.5000")).toBe("1234.5000");
    expect(postgresText(25, null)).toBe("");
  });

  it("converts MySQL / MariaDB values", () => {
    expect(mysqlText({ type: 1, length: 1 }, 1)).toBe("true");
    expect(mysqlText({ type: 1, length: 4 }, 1)).toBe("1");
    expect(mysqlText({ type: 16, length: 1 }, Buffer.from([1]))).toBe("true");
    expect(mysqlText({ type: 16, length: 16 }, Buffer.from([1, 0]))).toBe("256");
    expect(mysqlText({ type: 12, length: 19 }, "2024-01-02 03:04:05")).toBe("2024-01-02T03:04:05Z");
    expect(mysqlText({ type: 12, length: 19 }, "0000-00-00 00:00:00")).toBe("");
    expect(mysqlText({ type: 10, length: 10 }, "0000-00-00")).toBe("");
    expect(mysqlText({ type: 252, length: 10 }, Buffer.from("hi"))).toBe("aGk=");
    expect(mysqlText({ type: 5, length: 22 }, 0.1)).toBe("0.1");
    expect(mysqlText({ type: 253, length: 10 }, null)).toBe("");
  });

  it("writes SQLite values as stored", () => {
    expect(sqliteText(9007199254740993n)).toBe("9007199254740993");
    expect(sqliteText(0.5)).toBe("0.5");
    expect(sqliteText(Buffer.from([255]))).toBe("/w==");
    expect(sqliteText(null)).toBe("");
  });

  it("finds repeated column names and leaves other date-times alone", () => {
    expect(duplicateColumns(["a", "b", "a", "c", "b"])).toEqual(["a", "b"]);
    expect(isoDateTime("2024-01-02 03:04:05+02")).toBe("2024-01-02 03:04:05+02");
  });
});

describe("SQL URLs", () => {
  it("reads server URLs without exposing the password in the display form", () => {
    const url = parseSqlUrl("postgres://app:s%40cret@db.example.com/hr?sslmode=require");
    expect(url).toMatchObject({
      kind: "postgres",
      host: "db.example.com",
      port: 5432,
      user: "app",
      password: "s@cret",
      database: "hr",
    });
    expect(url.display).toBe("db.example.com:5432/hr");
    expect(parseSqlUrl("mariadb://root@127.0.0.1:3307/test")).toMatchObject({
      kind: "mysql",
      port: 3307,
      password: undefined,
    });
    expect(parseSqlUrl("sqlite:./data/hr.db")).toEqual({
      kind: "sqlite",
      path: "./data/hr.db",
      display: "./data/hr.db",
    });
  });
});
