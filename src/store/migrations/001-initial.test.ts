import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { POSTGRES_DDL } from "../postgres/ddl.js";
import { SQLITE_DDL } from "../sqlite/ddl.js";
import { initial } from "./001-initial.js";

/** A released migration is history: its text on each dialect, as released. */
describe("migration 1 (initial)", () => {
  it.each([
    ["SQLite", SQLITE_DDL, "568cf93142953631eb14c71eb03fd63eac8714ab319486fc34673f6439ae3254"],
    ["PostgreSQL", POSTGRES_DDL, "84a18e9d1a8a8db32ddec51aa82a0bfbe07aa55037a4fac3fdec63cf9265a5a5"],
  ])("writes the same SQL on %s", (_dialect, ddl, sha256) => {
    expect(createHash("sha256").update(initial.sql(ddl)).digest("hex")).toBe(sha256);
  });
});
