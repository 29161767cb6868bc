import { describe, expect, it } from "vitest";
import { csrfMatches, SessionStore } from "./sessions.js";

const ida = { kind: "admin", id: "ida", role: "viewer" } as const;
const MINUTE = 60_000;

function store() {
  let now = Date.parse("2026-12-01T08:00:00Z");
  const sessions = new SessionStore({ lifetimeMs: 480 * MINUTE, idleMs: 60 * MINUTE }, () => now);
  return { sessions, advance: (ms: number) => (now += ms) };
}

describe("console sessions", () => {
  it("a session is found by its id, shows its owner, and ends at sign-out", () => {
    const { sessions } = store();
    const { id, session } = sessions.open(ida);
    expect(sessions.touch(id)).toBe(session);
    expect(sessions.view(session)).toEqual({
      id: "ida",
      role: "viewer",
      csrfToken: session.csrfToken,
      expiresAt: "2026-12-01T09:00:00.000Z",
    });
    expect(sessions.touch("another id")).toBeUndefined();
    sessions.close(id);
    expect(sessions.touch(id)).toBeUndefined();
  });

  it("ends after the idle time unused, and after its lifetime however busy", () => {
    const { sessions, advance } = store();
    const idle = sessions.open(ida);
    const busy = sessions.open(ida);
    for (let i = 0; i < 8; i++) {
      advance(59 * MINUTE);
      expect(sessions.touch(busy.id)).toBeDefined();
    }
    expect(sessions.touch(idle.id)).toBeUndefined();
    // 472 minutes in: the lifetime (480) caps the next expiry.
    expect(sessions.view(busy.session).expiresAt).toBe("2026-12-01T16:00:00.000Z");
    advance(8 * MINUTE);
    expect(sessions.touch(busy.id)).toBeUndefined();
  });

  it("each session has its own CSRF token, compared whole", () => {
    const { sessions } = store();
    const a = sessions.open(ida).session;
    const b = sessions.open(ida).session;
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect(csrfMatches(a, a.csrfToken)).toBe(true);
    expect(csrfMatches(a, b.csrfToken)).toBe(false);
    expect(csrfMatches(a, a.csrfToken.slice(1))).toBe(false);
    expect(csrfMatches(a, undefined)).toBe(false);
    expect(csrfMatches(a, [a.csrfToken])).toBe(false);
  });
});
