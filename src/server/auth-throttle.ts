/**
 * Limits on failed authentications (`@fastify/rate-limit`'s counters): checking a secret costs
 * a scrypt hash (~60 ms of CPU), so a client sending wrong secrets could keep the server busy.
 * Failed secret checks are counted per client address and per agent id (every id the
 * configuration does not know shares one counter, so that inventing ids does not help); once
 * either counter reaches `server.rateLimit.failedAuthentications` within the window, requests
 * that need a secret checked are refused (429 RATE_LIMITED, with Retry-After) until it ends.
 *
 * Only failures count, and a token that verified once is recognised without a secret check
 * (see `auth.ts`), so an agent with the right secret is never slowed down, even while someone
 * else sends wrong ones from its address or under its id.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SyncupError } from "../errors.js";

export interface AuthLimits {
  /** Failed secret checks allowed per address, and per agent id, within the window. */
  readonly failedAuthentications: number;
  readonly windowMs: number;
}

/** What authentication asks of the throttle, for one request. */
export interface AuthGuard {
  /** Refuses (RATE_LIMITED) when the address or the id failed too often; called before a secret check. */
  admit(id: string): Promise<void>;
  /** Counts a failed secret check against the address and the id. */
  failed(id: string): Promise<void>;
}

type Limiter = ReturnType<FastifyInstance["createRateLimit"]>;

export class AuthThrottle {
  private readonly byAddress: Limiter;
  private readonly byId: Limiter;
  /** The agent id a request claims, read by the per-id counter's key. */
  private readonly claimed = new WeakMap<FastifyRequest, string>();

  /** `app` must have `@fastify/rate-limit` registered (with `global: false`). */
  constructor(
    app: Pick<FastifyInstance, "createRateLimit">,
    private readonly limits: AuthLimits,
  ) {
    const options = { max: limits.failedAuthentications, timeWindow: limits.windowMs };
    this.byAddress = app.createRateLimit(options);
    this.byId = app.createRateLimit({ ...options, keyGenerator: (r) => this.claimed.get(r) ?? "" });
  }

  guard(request: FastifyRequest, reply: FastifyReply): AuthGuard {
    return {
      admit: async (id) => {
        this.claimed.set(request, id);
        const [address, agent] = await Promise.all([
          this.byAddress(request, { increment: false }),
          this.byId(request, { increment: false }),
        ]);
        const spent = [
          { limit: address, who: `from address ${request.ip}` },
          { limit: agent, who: `for agent id "${id}"` },
        ].filter(({ limit }) => !limit.isAllowed && limit.remaining === 0);
        if (spent.length === 0) return;
        const seconds = Math.max(...spent.map(({ limit }) => (limit.isAllowed ? 0 : limit.ttlInSeconds)), 1);
        void reply.header("retry-after", String(seconds));
        throw new SyncupError(
          "RATE_LIMITED",
          `Too many failed authentications ${spent.map((s) => s.who).join(" and ")} (${this.limits.failedAuthentications} within ${this.limits.windowMs / 1000} s, server.rateLimit): retry in ${seconds} s.`,
        );
      },
      failed: async (id) => {
        this.claimed.set(request, id);
        await Promise.all([this.byAddress(request), this.byId(request)]);
      },
    };
  }
}
