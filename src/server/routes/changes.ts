/**
 * `GET /api/v1/changes`: the change feed (administrators of either role), in sequence order,
 * with long polling (`wait`); 410 CHANGES_GONE for a cursor behind the retention.
 */
import { SyncupError } from "../../errors.js";
import { CHANGES_PATH, MAX_WAIT_MS, parseWait } from "../../protocol/change-feed.js";
import type { ChangeFeedService } from "../change-feed.js";
import * as S from "../schemas.js";
import type { Api } from "./deps.js";
import { principalOf } from "./principal.js";

const API_PREFIX_LENGTH = "/api/v1".length;

const changesQuery = {
  type: "object",
  properties: {
    after: { type: "integer", minimum: 0, description: "The last seq already read; 0 for the start." },
    limit: { type: "integer", minimum: 1, maximum: 10_000, description: "Events per page; default 1000." },
    connector: { type: "string", maxLength: 200 },
    entityType: {
      type: "string",
      maxLength: 200,
      description: "Resource events of this type, and link and reference events with an end of this type.",
    },
    wait: {
      type: "string",
      pattern: "^[0-9]+(ms|s)?$",
      description: "Long poll: with no event after `after`, wait this long (e.g. 30s, at most 60s) for one.",
    },
  },
} as const;

const changePage = {
  type: "object",
  required: ["events", "next", "last"],
  properties: {
    events: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: true,
        description: "A ChangeEvent: resource, link or reference (see the README's change feed section).",
      },
    },
    next: { type: "integer", description: "The `after` of the next request." },
    last: { type: "integer", description: "The latest event's seq." },
  },
} as const;

export function registerChangeRoutes(api: Api, deps: { readonly feed: ChangeFeedService }) {
  api.get<{
    Querystring: { after?: number; limit?: number; connector?: string; entityType?: string; wait?: string };
  }>(
    CHANGES_PATH.slice(API_PREFIX_LENGTH),
    {
      schema: {
        summary: "The change feed: applied changes in sequence order, long-polled (admin)",
        description:
          "Events after `after`, at most `limit`, in sequence order; `next` is the cursor to ask from next. With `wait`, a request that finds none answers as soon as one is committed (within a second) or when the wait ends. A cursor behind the retention is 410 CHANGES_GONE: resynchronize from the repository.",
        querystring: changesQuery,
        response: { 200: changePage, ...S.errors(401, 403, 404, 410) },
      },
    },
    async (request, reply) => {
      const waitMs = request.query.wait === undefined ? 0 : parseWait(request.query.wait);
      if (waitMs === undefined || waitMs > MAX_WAIT_MS) {
        throw new SyncupError(
          "REQUEST_INVALID",
          `wait must be at most ${MAX_WAIT_MS / 1000}s, e.g. wait=30s.`,
        );
      }
      const json = await deps.feed.page(principalOf(request), {
        after: request.query.after ?? 0,
        limit: request.query.limit ?? 1000,
        connector: request.query.connector,
        entityType: request.query.entityType,
        waitMs,
      });
      // Already JSON: the stored values are spliced in, not parsed and serialized again.
      return reply.type("application/json; charset=utf-8").send(json);
    },
  );

  api.get(
    `${CHANGES_PATH.slice(API_PREFIX_LENGTH)}/sinks`,
    {
      schema: {
        summary: "The change feed's push sinks: cursor, lag, failures, dead letters (admin)",
        response: {
          200: { type: "array", items: { type: "object", additionalProperties: true } },
          ...S.errors(401, 403),
        },
      },
    },
    (request) => deps.feed.sinks(principalOf(request)),
  );

  api.post<{ Params: { sink: string } }>(
    `${CHANGES_PATH.slice(API_PREFIX_LENGTH)}/sinks/:sink/replay`,
    {
      schema: {
        summary: "Deliver a sink's dead letters again (approver)",
        description:
          "The dead letters go to the sink again, oldest first, in its deliveries' size; each delivery it takes is no longer a dead letter. They arrive after newer events, with their own ids. Stops at the first failure (502 SINK_DELIVERY_FAILED). `gone` lists dead letters whose events the retention pruned.",
        params: {
          type: "object",
          required: ["sink"],
          properties: { sink: { type: "string", maxLength: 200 } },
        },
        response: {
          200: {
            type: "object",
            required: ["sink", "replayed", "gone"],
            properties: {
              sink: { type: "string" },
              replayed: { type: "integer" },
              gone: { type: "array", items: { type: "integer" } },
            },
          },
          ...S.errors(401, 403, 404, 502),
        },
      },
    },
    (request) => deps.feed.replay(principalOf(request), request.params.sink),
  );
}
