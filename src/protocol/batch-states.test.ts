import { describe, expect, it } from "vitest";
import { BATCH_TRANSITIONS, canMove, newBatchId, statesBefore } from "./batch-states.js";
import { FINAL_STATES } from "./api.js";

describe("the batch state machine", () => {
  it("lets nothing leave a final state", () => {
    for (const state of FINAL_STATES) expect(BATCH_TRANSITIONS[state]).toEqual([]);
  });
  it("applies a batch only from staging (its run), blocked or previewed (decided)", () => {
    expect(statesBefore("applied").sort()).toEqual(["blocked", "previewed", "staging"]);
  });
  it("claims only sealed batches, and requeues only interrupted ones", () => {
    expect(statesBefore("staging")).toEqual(["sealed"]);
    expect(statesBefore("sealed").sort()).toEqual(["notified", "staging"]);
  });
  it.each([
    ["applied", "blocked"],
    ["cancelled", "applied"],
    ["blocked", "staging"],
    ["notified", "applied"],
    ["previewed", "staging"],
    ["superseded", "applied"],
  ] as const)("refuses %s → %s", (from, to) => {
    expect(canMove(from, to)).toBe(false);
  });
  it("mints distinct UUIDs", () => {
    const ids = new Set(Array.from({ length: 100 }, newBatchId));
    expect(ids.size).toBe(100);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
