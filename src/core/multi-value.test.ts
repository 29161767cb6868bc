import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { joinValues, splitValues } from "./multi-value.js";

describe("multi-valued cells", () => {
  it.each([
    [[], ""],
    [["a"], "a"],
    [["a", "b"], "a|b"],
    [["a|b", "c\\d"], "a\\|b|c\\\\d"],
    [["", "x"], "|x"],
    [["\\|"], "\\\\\\|"],
  ])("joins %j as %j and splits it back", (values, cell) => {
    expect(joinValues(values)).toBe(cell);
    expect(splitValues(cell)).toEqual(values);
  });

  it("splits back whatever it joins (but a single empty value, which is no value)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom("a", "|", "\\", "é", ";", '"') })), (values) => {
        const expected = values.length === 1 && values[0] === "" ? [] : values;
        expect(splitValues(joinValues(values))).toEqual(expected);
      }),
    );
  });
});
