/**
 * Bearer authentication: `Bearer <agentId>:<secret>` or `Bearer <admin name>:<token>` (the
 * names of `server.admins`, and `admin` for `server.adminTokenHash`), checked against the
 * scrypt hashes of the configuration. Tokens that verified once are remembered
 * by their SHA-256 (never in clear), so that scrypt runs once per token, not per request.
 */
import { createHash, randomBytes } from "node:crypto";
import type { ServerDef } from "../config/config.js";
import { SyncupError } from "../errors.js";
import type { AdminRole } from "../protocol/api.js";
import { hashSecret, verifySecret } from "../protocol/secret-hash.js";
import type { AuthGuard } from "./auth-throttle.js";

/** An administrator: who (their name in `server.admins`) and what they may do. */
export interface AdminPrincipal {
  readonly kind: "admin";
  readonly id: string;
  readonly role: AdminRole;
}

export type Principal =
  { readonly kind: "agent"; readonly id: string; readonly connectors: readonly string[] } | AdminPrincipal;

const CACHE_LIMIT = 1000;
/** The id the failures of ids no agent or administrator has are counted under. */
const UNKNOWN_ID = "(unknown agent)";

export class Authenticator {
  private readonly verified = new Map<string, Principal>();

  private decoyHash: Promise<string> | null = null;

  constructor(private readonly server: ServerDef) {}

  private decoy(): Promise<string> {
    return (this.decoyHash ??= hashSecret(randomBytes(16).toString("hex")));
  }

  /**
   * The principal of an `Authorization` header. A token not verified before costs a secret
   * check, which `guard` may refuse beforehand (too many failures) and is told of when it fails.
   */
  async authenticate(header: string | undefined, guard?: AuthGuard): Promise<Principal> {
    const match = header === undefined ? null : /^Bearer\s+([^\s:]+:\S+)$/i.exec(header);
    if (match === null) {
      throw new SyncupError(
        "UNAUTHORIZED",
        "Authentication required: send `Authorization: Bearer <agent id>:<secret>` (or `<admin name>:<token>`).",
      );
    }
    return this.authenticateToken(match[1] ?? "", guard);
  }

  /** The principal of a `<id>:<secret>` token (a bearer header's, or the console's sign-in). */
  async authenticateToken(token: string, guard?: AuthGuard): Promise<Principal> {
    const match = /^([^\s:]+):(\S+)$/.exec(token);
    if (match === null) {
      throw new SyncupError(
        "UNAUTHORIZED",
        "A token is `<agent id>:<secret>` or `<admin name>:<token>`, with no space.",
      );
    }
    const [, id, secret] = match as unknown as [string, string, string];
    const digest = createHash("sha256").update(`${id}:${secret}`).digest("hex");
    const known = this.verified.get(digest);
    if (known !== undefined) return known;
    // Every id the configuration does not know counts as one: inventing ids gains nothing.
    const counted =
      Object.hasOwn(this.server.admins, id) || Object.hasOwn(this.server.agents, id) ? id : UNKNOWN_ID;
    await guard?.admit(counted);
    let principal: Principal;
    try {
      principal = await this.verify(id, secret);
    } catch (error) {
      if (error instanceof SyncupError && error.code === "UNAUTHORIZED") await guard?.failed(counted);
      throw error;
    }
    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(digest, principal);
    return principal;
  }

  private async verify(id: string, secret: string): Promise<Principal> {
    const admin = Object.hasOwn(this.server.admins, id) ? this.server.admins[id] : undefined;
    if (admin !== undefined) {
      if (await verifySecret(secret, admin.tokenHash)) return { kind: "admin", id, role: admin.role };
      throw new SyncupError("UNAUTHORIZED", `The token of administrator "${id}" is wrong.`);
    }
    const agent = Object.hasOwn(this.server.agents, id) ? this.server.agents[id] : undefined;
    // An unknown id costs a hash too, so that timing does not tell which agent ids exist.
    if ((await verifySecret(secret, agent?.secretHash ?? (await this.decoy()))) && agent !== undefined) {
      return { kind: "agent", id, connectors: agent.connectors };
    }
    throw new SyncupError("UNAUTHORIZED", `Unknown agent or administrator "${id}", or wrong secret.`);
  }
}

/** Refuses a caller that is not an administrator (a viewer or an approver); answers the administrator. */
export function requireAdmin(principal: Principal, action: string): AdminPrincipal {
  if (principal.kind !== "admin") {
    throw new SyncupError(
      "FORBIDDEN",
      `Only an administrator may ${action}; agent "${principal.id}" may not.`,
    );
  }
  return principal;
}

/**
 * Refuses a caller that may not decide: an agent, or an administrator whose role is viewer.
 * Answers the approver, whom the route records as the one who decided.
 */
export function requireApprover(principal: Principal, action: string): AdminPrincipal {
  const admin = requireAdmin(principal, action);
  if (admin.role !== "approver") {
    throw new SyncupError(
      "FORBIDDEN",
      `Only an administrator with the approver role may ${action}; "${admin.id}" is a ${admin.role}.`,
    );
  }
  return admin;
}

/** Refuses an agent acting on a connector the configuration does not give it. */
export function requireConnector(principal: Principal, connector: string): void {
  if (principal.kind === "agent" && !principal.connectors.includes(connector)) {
    throw new SyncupError(
      "FORBIDDEN",
      `Agent "${principal.id}" may not act on connector "${connector}" (its connectors: ${principal.connectors.join(", ")}).`,
    );
  }
}
