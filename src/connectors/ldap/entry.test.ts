import { describe, expect, it } from "vitest";
import { addRange, entryObject, parseRangeOption, readEntry, type EntryPlan } from "./entry.js";

describe("LDAP entries", () => {
  it("reads Active Directory's ranged attributes and merges the further ranges", () => {
    expect(parseRangeOption("member;range=0-1499")).toEqual({ name: "member", low: 0, high: 1499 });
    expect(parseRangeOption("member;range=1500-*")).toEqual({ name: "member", low: 1500, high: undefined });
    expect(parseRangeOption("member")).toBeUndefined();
    const entry = readEntry({ dn: "cn=g", "member;range=0-1": ["a", "b"], member: [], cn: "g" });
    expect(entry.pending).toEqual([{ attribute: "member", next: 2 }]);
    expect(addRange(entry, { dn: "cn=g", "member;range=2-3": ["c", "d"] }, "member")).toBe(4);
    expect(addRange(entry, { dn: "cn=g", "member;range=4-*": ["e"] }, "member")).toBeUndefined();
    expect(entry.values.get("member")).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("builds the row, the links and the change time, matching attribute names without regard to case", () => {
    const plan: EntryPlan = {
      columns: [
        { attribute: "CN", singleValued: false, binary: undefined },
        { attribute: "objectGUID", singleValued: true, binary: "guid" },
        { attribute: "photo", singleValued: false, binary: undefined },
      ],
      links: [{ table: "members", attribute: "member" }],
      timestampAttribute: "modifyTimestamp",
    };
    const object = entryObject(
      readEntry({
        dn: "cn=x",
        cn: ["x", "y|z"],
        objectGUID: Buffer.from("33221100554477668899aabbccddeeff", "hex"),
        photo: Buffer.from([255, 0]),
        member: ["cn=a", "cn=b"],
        modifyTimestamp: "20240101000000Z",
      }),
      plan,
    );
    expect(object).toEqual({
      key: "cn=x",
      row: ["x|y\\|z", "00112233-4455-6677-8899-aabbccddeeff", "/wA="],
      links: { members: ["cn=a", "cn=b"] },
      changedAt: "20240101000000Z",
    });
  });
});
