import { describe, expect, it } from "vitest";
import { SyncupError } from "../errors.js";
import { DEFAULT_CSV_FORMAT, isCsvWhitespace, resolveCsvFormat } from "./format.js";

describe("CSV format", () => {
  it("has the documented defaults", () => {
    expect(DEFAULT_CSV_FORMAT).toEqual({
      separator: ";",
      quote: '"',
      encoding: "utf-8",
      skipLines: 0,
      trim: "",
    });
    expect(resolveCsvFormat()).toEqual(DEFAULT_CSV_FORMAT);
    expect(resolveCsvFormat({ separator: ",", trim: " " })).toEqual({
      ...DEFAULT_CSV_FORMAT,
      separator: ",",
      trim: " ",
    });
  });

  it.each([
    [{ separator: "" }, /separator must be exactly one character/],
    [{ separator: "\n" }, /separator must be exactly one character/],
    [{ quote: "''" }, /quote must be exactly one character/],
    [{ separator: '"' }, /must differ/],
    [{ skipLines: -1 }, /skipLines/],
    [{ skipLines: 1.5 }, /skipLines/],
    [{ trim: " ;" }, /trim must not contain/],
    [{ encoding: "ebcdic" as "utf-8" }, /encoding must be one of/],
  ])("refuses %j", (format, message) => {
    expect(() => resolveCsvFormat(format)).toThrow(message);
    expect(() => resolveCsvFormat(format)).toThrow(SyncupError);
  });

  it("knows whitespace", () => {
    for (const c of " \t\u00a0\u3000\ufeff\u2028") expect(isCsvWhitespace(c.charCodeAt(0))).toBe(true);
    for (const c of "a;,\"'|0\u200b") expect(isCsvWhitespace(c.charCodeAt(0))).toBe(false);
  });
});
