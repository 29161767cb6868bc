/**
 * Bearer authentication: `Bearer <agentId>:<secret>` or `Bearer admin:<token>`, checked
 * against the scrypt hashes of the configuration. Tokens that verified once are remembered
 * by their SHA-256 (never in clear), so that scrypt runs once per token, not per request.
 */
import { createHash, randomBytes } from "node:crypto";
import type { ServerDef } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { ADMIN_PRINCIPAL } from "../protocol/api.js";
import { hashSecret, verifySecret } from "../protocol/secret-hash.js";
import type { AuthGuard } from "./auth-throttle.js";

export type Principal =
  | { readonly kind: "agent"; readonly id: string; readonly connectors: readonly string[] }
  | { readonly kind: "admin"; readonly id: typeof ADMIN_PRINCIPAL };

const CACHE_LIMIT = 1000;
/** The id the failures of ids no agent has are counted under. */
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
    const match = header === undefined ? null : /^Bearer\s+([^\s:]+):(\S+)$/i.exec(header);
    if (match === null) {
      throw new SyncupError(
        "UNAUTHORIZED",
        "Authentication required: send `Authorization: Bearer <agent id>:<secret>` (or `admin:<token>`).",
      );
    }
    const [, id, secret] = match as unknown as [string, string, string];
    const digest = createHash("sha256").update(`${id}:${secret}`).digest("hex");
    const known = this.verified.get(digest);
    if (known !== undefined) return known;
    // Every id the configuration does not know counts as one: inventing ids gains nothing.
    const counted = id === ADMIN_PRINCIPAL || Object.hasOwn(this.server.agents, id) ? id : UNKNOWN_ID;
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
    if (id === ADMIN_PRINCIPAL) {
      if (this.server.adminTokenHash !== null && (await verifySecret(secret, this.server.adminTokenHash))) {
        return { kind: "admin", id: ADMIN_PRINCIPAL };
      }
      throw new SyncupError(
        "UNAUTHORIZED",
        "The admin token is wrong, or the server has no server.adminTokenHash.",
      );
    }
    const agent = Object.hasOwn(this.server.agents, id) ? this.server.agents[id] : undefined;
    // An unknown id costs a hash too, so that timing does not tell which agent ids exist.
    if ((await verifySecret(secret, agent?.secretHash ?? (await this.decoy()))) && agent !== undefined) {
      return { kind: "agent", id, connectors: agent.connectors };
    }
    throw new SyncupError("UNAUTHORIZED", `Unknown agent "${id}" or wrong secret.`);
  }
}

/** Refuses a caller that is not the administrator. */
export function requireAdmin(principal: Principal, action: string): void {
  if (principal.kind !== "admin") {
    throw new SyncupError(
      "FORBIDDEN",
      `Only the administrator may ${action}; agent "${principal.id}" may not.`,
    );
  }
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
