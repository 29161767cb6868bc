import { describe, expect, it } from "vitest";
import { retryDelayMs, withRetries } from "./retry.js";

describe("withRetries", () => {
  it("retries transient failures with growing delays, then gives up", async () => {
    const delays: number[] = [];
    let calls = 0;
    await expect(
      withRetries(
        () => {
          calls++;
          return Promise.reject(new Error("down"));
        },
        { retries: 3, isTransient: () => true, sleep: (ms) => (delays.push(ms), Promise.resolve()) },
      ),
    ).rejects.toThrow("down");
    expect(calls).toBe(4);
    expect(delays.length).toBe(3);
    expect(delays[1]).toBeGreaterThan(delays[0] ?? 0);
  });

  it("does not retry other failures, and honours a delay the server asked for", async () => {
    let calls = 0;
    await expect(
      withRetries(() => (calls++, Promise.reject(new Error("bad"))), {
        retries: 3,
        isTransient: () => false,
      }),
    ).rejects.toThrow("bad");
    expect(calls).toBe(1);
    expect(retryDelayMs(1, {}, 2500)).toBe(2500);
    expect(retryDelayMs(10, {}, undefined, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(2, { baseDelayMs: 100 }, undefined, () => 0.5)).toBe(200);
  });
});
