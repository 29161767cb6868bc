import { describe, expect, it } from "vitest";
import {
  attributeCell,
  binaryFormOf,
  binaryText,
  formatGeneralizedTime,
  guidText,
  parseAttributeTypes,
  parseGeneralizedTime,
  parenthesized,
  sidText,
} from "./values.js";

describe("LDAP values", () => {
  it("writes an objectGUID in the standard text form (first three groups little-endian)", () => {
    expect(guidText(Buffer.from("33221100554477668899aabbccddeeff", "hex"))).toBe(
      "00112233-4455-6677-8899-aabbccddeeff",
    );
  });

  it("writes an objectSid as S-1-… text", () => {
    const sid = Buffer.from("010500000000000515000000dcf4dc3b833d2b46828ba62800020000", "hex");
    expect(sidText(sid)).toBe("S-1-5-21-1004336348-1177238915-682003330-512");
    expect(sidText(Buffer.from("0101000000000001" + "00000000", "hex"))).toBe("S-1-1-0");
    expect(sidText(Buffer.from("0102", "hex"))).toBeUndefined();
  });

  it("chooses the binary form by name and falls back to base64 for a value of the wrong shape", () => {
    expect(binaryFormOf("objectGUID")).toBe("guid");
    expect(binaryFormOf("msExchMailboxGuid")).toBe("guid");
    expect(binaryFormOf("objectSid")).toBe("sid");
    expect(binaryFormOf("sIDHistory")).toBe("sid");
    expect(binaryFormOf("jpegPhoto")).toBe("base64");
    expect(binaryText(Buffer.from([1, 2, 3]), "guid")).toBe("AQID");
    expect(binaryText(Buffer.from([1, 2, 3]), "sid")).toBe("AQID");
  });

  it("writes single-valued attributes as they are and escapes multi-valued ones", () => {
    expect(attributeCell(["a|b"], true)).toBe("a|b");
    expect(attributeCell(["a|b"], false)).toBe("a\\|b");
    expect(attributeCell(["a", "b"], false)).toBe("a|b");
    expect(attributeCell([], true)).toBe("");
  });

  it("reads and writes generalized time", () => {
    expect(parseGeneralizedTime("20240131235959Z")).toBe(Date.UTC(2024, 0, 31, 23, 59, 59));
    expect(parseGeneralizedTime("20240131235959.5Z")).toBe(Date.UTC(2024, 0, 31, 23, 59, 59, 500));
    expect(parseGeneralizedTime("20240131235959.0Z")).toBe(Date.UTC(2024, 0, 31, 23, 59, 59));
    expect(parseGeneralizedTime("20240201005959+0100")).toBe(Date.UTC(2024, 0, 31, 23, 59, 59));
    expect(parseGeneralizedTime("yesterday")).toBeUndefined();
    expect(formatGeneralizedTime(Date.UTC(2024, 0, 31, 23, 59, 59, 999))).toBe("20240131235959.0Z");
  });

  it("reads the attribute types of a schema: their names and whether they are single-valued", () => {
    const types = parseAttributeTypes([
      "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name' SUP name )",
      "( 2.16.840.1.113730.3.1.3 NAME 'employeeNumber' DESC 'numerically identifies' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
      "( 1.2.3 NAME 'tricky' DESC 'not SINGLE-VALUE really' )",
    ]);
    expect(types.get("commonname")).toEqual({ names: ["cn", "commonName"], singleValued: false });
    expect(types.get("employeenumber")?.singleValued).toBe(true);
    expect(types.get("tricky")?.singleValued).toBe(false);
  });

  it("parenthesizes a bare filter", () => {
    expect(parenthesized("objectClass=user")).toBe("(objectClass=user)");
    expect(parenthesized(" (cn=a) ")).toBe("(cn=a)");
  });
});
