/**
 * The console's sessions: an administrator signs in once with `<name>:<token>` and the browser
 * then carries an opaque session id in an HttpOnly cookie. A session ends at sign-out, after
 * `server.sessionMinutes` however busy, or after `server.sessionIdleMinutes` unused.
 *
 * Sessions live in the memory of the server process that made them (a restart signs everyone
 * out; several instances behind one address need sticky sessions). They are kept by the SHA-256
 * of their id, never the id itself, and each has a CSRF token that every change asked through
 * the cookie must carry in a header (`x-csrf-token`): a page of another site can make the
 * browser send the cookie, but cannot read the token.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { AdminPrincipal } from "./auth.js";

/** The cookie that carries the session id. */
export const SESSION_COOKIE = "syncup_session";
/** The header a change asked through a session carries its CSRF token in. */
export const CSRF_HEADER = "x-csrf-token";
/** Sessions kept at most; beyond, the oldest end first. */
const MAX_SESSIONS = 10_000;

export interface Session {
  readonly admin: AdminPrincipal;
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
}

/** What the session's owner is told of it (`/api/v1/session`). */
export interface SessionView {
  readonly id: string;
  readonly role: AdminPrincipal["role"];
  readonly csrfToken: string;
  /** When it ends if it stays in use (ISO 8601); sooner if it goes unused. */
  readonly expiresAt: string;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly limits: { readonly lifetimeMs: number; readonly idleMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens a session for `admin`; answers its id (for the cookie) and the session. */
  open(admin: AdminPrincipal): { id: string; session: Session } {
    this.prune();
    const id = randomBytes(32).toString("base64url");
    const at = this.now();
    const session: Session = {
      admin,
      csrfToken: randomBytes(32).toString("base64url"),
      createdAt: at,
      lastSeenAt: at,
    };
    this.sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session of a cookie's id, now marked used; undefined if unknown or ended. */
  touch(id: string): Session | undefined {
    const key = digest(id);
    const session = this.sessions.get(key);
    if (session === undefined) return undefined;
    const at = this.now();
    if (this.ended(session, at)) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = at;
    return session;
  }

  /** Ends the session of a cookie's id (signing out twice is no error). */
  close(id: string): void {
    this.sessions.delete(digest(id));
  }

  /** When the session ends if it stays in use. */
  expiresAt(session: Session): Date {
    return new Date(
      Math.min(session.createdAt + this.limits.lifetimeMs, session.lastSeenAt + this.limits.idleMs),
    );
  }

  view(session: Session): SessionView {
    return {
      id: session.admin.id,
      role: session.admin.role,
      csrfToken: session.csrfToken,
      expiresAt: this.expiresAt(session).toISOString(),
    };
  }

  private ended(session: Session, at: number): boolean {
    return at >= this.expiresAt(session).getTime();
  }

  /** Drops ended sessions, then the oldest while there are too many. */
  private prune(): void {
    const at = this.now();
    for (const [key, session] of this.sessions) if (this.ended(session, at)) this.sessions.delete(key);
    for (const key of this.sessions.keys()) {
      if (this.sessions.size < MAX_SESSIONS) break;
      this.sessions.delete(key);
    }
  }
}

/** Whether `sent` is the session's CSRF token (compared in constant time). */
export function csrfMatches(session: Session, sent: string | string[] | undefined): boolean {
  if (typeof sent !== "string") return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

function digest(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}
