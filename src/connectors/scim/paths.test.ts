import { describe, expect, it } from "vitest";
import { parsePath, pathCell, pathValues, topAttribute } from "./paths.js";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const user = {
  id: "1",
  userName: "bjensen",
  Name: { givenName: "Barbara", familyName: "Jensen" },
  active: false,
  emails: [
    { value: "b@home.example", type: "home" },
    { value: "b|j@work.example", type: "work", primary: true },
  ],
  phoneNumbers: [],
  groups: [{ value: "g1" }, { value: "g2" }],
  [ENTERPRISE]: { employeeNumber: 701984, manager: { value: "26118915" } },
  meta: { lastModified: "2024-01-02T03:04:05Z" },
};

describe("SCIM attribute paths", () => {
  it.each([
    ["userName", "bjensen"],
    ["name.givenName", "Barbara"],
    ["active", "false"],
    ["emails[primary].value", "b|j@work.example"],
    ["emails[0].value", "b@home.example"],
    ["emails[type=home].value", "b@home.example"],
    ['emails[type="work"].type', "work"],
    ["emails.value", "b@home.example|b\\|j@work.example"],
    ["emails.type", "home|work"],
    ["phoneNumbers.value", ""],
    ["phoneNumbers[primary].value", ""],
    ["nickName", ""],
    [`${ENTERPRISE}:employeeNumber`, "701984"],
    [`${ENTERPRISE}:manager.value`, "26118915"],
    ["meta.lastModified", "2024-01-02T03:04:05Z"],
    ["name", '{"givenName":"Barbara","familyName":"Jensen"}'],
  ])("%s → %j", (path, cell) => {
    expect(pathCell(user, parsePath(path))).toBe(cell);
  });

  it("lists link values and names the top attribute to request", () => {
    expect(pathValues(user, parsePath("groups.value"))).toEqual(["g1", "g2"]);
    expect(topAttribute(parsePath("name.givenName"))).toBe("name");
    expect(topAttribute(parsePath(`${ENTERPRISE}:manager.value`))).toBe(`${ENTERPRISE}:manager`);
  });
});
