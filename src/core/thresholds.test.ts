import { describe, expect, it } from "vitest";
import {
  describeCheck,
  explainCheck,
  THRESHOLD_NAMES,
  type ThresholdName,
  evaluateThresholds,
  type ScopeCounts,
  type ThresholdLevel,
  type ThresholdScope,
} from "./thresholds.js";

const OPERATION: Record<ThresholdName, "inserted" | "updated" | "deleted"> = {
  MaximumInsertedLines: "inserted",
  MaximumUpdatedLines: "updated",
  MaximumDeletedLines: "deleted",
  MaximumLinkInsertedLines: "inserted",
  MaximumLinkDeletedLines: "deleted",
  MaxPercentageInsertedLines: "inserted",
  MaxPercentageUpdatedLines: "updated",
  MaxPercentageDeletedLines: "deleted",
  MaxLinkPercentageInsertedLines: "inserted",
  MaxLinkPercentageDeletedLines: "deleted",
};
const isLink = (name: ThresholdName) => name.includes("Link");
const isRate = (name: ThresholdName) => name.includes("Percentage");

/** A scope holding 200 resources (links), with `staged` changes of the threshold's operation. */
function scope(
  level: ThresholdLevel,
  name: ThresholdName,
  limit: number,
  staged: number,
  held = 200,
): ThresholdScope {
  const counts: ScopeCounts = { inserted: 0, updated: 0, deleted: 0, held, [OPERATION[name]]: staged };
  return {
    level,
    name: "X",
    limits: { [name]: limit },
    ...(isLink(name) ? { links: counts } : { resources: counts }),
  };
}

const levels = (name: ThresholdName): ThresholdLevel[] =>
  isLink(name) ? ["connector", "association"] : ["connector", "entity-type"];

describe("evaluateThresholds", () => {
  for (const name of THRESHOLD_NAMES) {
    for (const level of levels(name)) {
      it(`${name} at ${level} level: the limit passes, one past it blocks`, () => {
        // counts: limit 10 lines; rates: limit 5 % of 200 = 10 lines
        const limit = isRate(name) ? 5 : 10;
        const atLimit = evaluateThresholds([scope(level, name, limit, 10)]);
        expect(atLimit).toEqual([expect.objectContaining({ threshold: name, level, limit, crossed: false })]);
        const past = evaluateThresholds([scope(level, name, limit, 11)]);
        expect(past).toEqual([
          expect.objectContaining({
            threshold: name,
            level,
            limit,
            actual: isRate(name) ? 5.5 : 11,
            crossed: true,
          }),
        ]);
      });
    }
  }

  it("switches a threshold off with 0", () => {
    expect(evaluateThresholds([scope("connector", "MaximumDeletedLines", 0, 1_000_000)])).toEqual([]);
  });

  it("does not apply a rate to a scope that holds nothing", () => {
    expect(evaluateThresholds([scope("connector", "MaxPercentageInsertedLines", 5, 1000, 0)])).toEqual([]);
    expect(evaluateThresholds([scope("connector", "MaximumInsertedLines", 5, 6, 0)])[0]?.crossed).toBe(true);
  });

  it("applies only resource names at an entity type and only link names at an association", () => {
    const counts: ScopeCounts = { inserted: 50, updated: 50, deleted: 50, held: 10 };
    const limits = Object.fromEntries(THRESHOLD_NAMES.map((n) => [n, 1]));
    const entity = evaluateThresholds([{ level: "entity-type", name: "User", limits, resources: counts }]);
    expect(entity.map((c) => c.threshold).sort()).toEqual(THRESHOLD_NAMES.filter((n) => !isLink(n)).sort());
    const association = evaluateThresholds([{ level: "association", name: "M", limits, links: counts }]);
    expect(association.map((c) => c.threshold).sort()).toEqual(THRESHOLD_NAMES.filter(isLink).sort());
  });

  it("describes a check for messages", () => {
    const [check] = evaluateThresholds([
      {
        level: "entity-type",
        name: "AD_Entry",
        limits: { MaxPercentageDeletedLines: 10 },
        resources: { inserted: 0, updated: 0, deleted: 25, held: 200 },
      },
    ]);
    expect(check && describeCheck(check)).toBe(
      'MaxPercentageDeletedLines at entity type "AD_Entry": 12.5 % > 10 %',
    );
  });
});

describe("explainCheck", () => {
  it("says what a crossed threshold would do, and its limit", () => {
    expect(
      explainCheck({
        level: "entity-type",
        scope: "Person",
        threshold: "MaxPercentageDeletedLines",
        limit: 10,
        actual: 50,
        unit: "percent",
        crossed: true,
      }),
    ).toBe('would delete 50 % of the resources of entity type "Person" (limit: 10 %)');
    expect(
      explainCheck({
        level: "connector",
        scope: "AD",
        threshold: "MaximumLinkInsertedLines",
        limit: 100,
        actual: 250,
        unit: "lines",
        crossed: true,
      }),
    ).toBe("would insert 250 links of the connector (limit: 100)");
  });
});
