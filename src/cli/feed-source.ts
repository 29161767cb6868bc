/**
 * Where `syncup changes` reads the change feed: the configuration's repository (the feed's
 * reader over a store kept open while it follows), or a server's API with an administrator's
 * token (`--server`, long-polled). Both answer the contract's pages, and replay a sink's dead
 * letters (locally: delivered from this process, to the sinks as the configuration defines them).
 */
import type { Config } from "../config/config.js";
import { loadConfig } from "../config/load.js";
import { SyncupError } from "../errors.js";
import pino from "pino";
import { FeedPusher } from "../feed/pusher.js";
import { CHANGES_PATH, type ChangePage, type ReplayOutcome, type SinkView } from "../protocol/change-feed.js";
import { ChangeFeedReader, sinkViews } from "../sync/change-feed.js";
import { openStore, type Store } from "../sync/index.js";
import type { CliContext } from "./context.js";

export interface FeedQuery {
  readonly after: number;
  readonly limit: number;
  readonly connector?: string | undefined;
  readonly entityType?: string | undefined;
  /** How long a page may wait for a first event (the server's long poll; a local source polls). */
  readonly waitMs: number;
}

export interface FeedSource {
  page(query: FeedQuery): Promise<ChangePage>;
  sinks(): Promise<SinkView[]>;
  /** Delivers a sink's dead letters again. */
  replay(sink: string): Promise<ReplayOutcome>;
  close(): Promise<void>;
}

export async function feedSource(
  ctx: CliContext,
  opts: { config: string; server?: string },
): Promise<FeedSource> {
  if (opts.server !== undefined) return remoteSource(ctx, opts.server);
  const config = await loadConfig(opts.config, ctx.env);
  return localSource(ctx, config, await openStore(config.databaseUrl));
}

function localSource(ctx: CliContext, config: Config, store: Store): FeedSource {
  const reader = new ChangeFeedReader(store, config);
  return {
    async page(query) {
      const deadline = Date.now() + query.waitMs;
      for (;;) {
        const page = await reader.page(query);
        if (page.events.length > 0 || Date.now() >= deadline) return page;
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    sinks: () => sinkViews(store),
    async replay(sink) {
      // The sinks as the configuration defines them, delivering from this process.
      const pusher = new FeedPusher({
        config,
        store,
        serialize: (fn) => fn(),
        env: ctx.env,
        log: pino({ level: "silent" }),
      });
      try {
        return await pusher.replay(sink);
      } finally {
        await pusher.stop();
      }
    },
    close: () => store.close(),
  };
}

function remoteSource(ctx: CliContext, url: string): FeedSource {
  const token = ctx.env["SYNCUP_ADMIN_TOKEN"];
  if (token === undefined || token === "") {
    throw new SyncupError(
      "UNAUTHORIZED",
      `--server ${url}: set SYNCUP_ADMIN_TOKEN to an administrator's token (<name>:<token>, or the token whose hash is server.adminTokenHash).`,
    );
  }
  const authorization = `Bearer ${token.includes(":") ? token : `admin:${token}`}`;
  const base = url.replace(/\/+$/, "");
  const get = async <T>(path: string, method = "GET"): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization, accept: "application/json" },
    });
    const text = await response.text();
    if (!response.ok) {
      let body: { code?: string; message?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // not an API error body
      }
      const code =
        response.status === 410
          ? "CHANGES_GONE"
          : response.status === 401
            ? "UNAUTHORIZED"
            : body.code === "SINK_NOT_FOUND" || body.code === "SINK_DELIVERY_FAILED"
              ? body.code
              : "SERVER_REFUSED";
      throw new SyncupError(
        code,
        `${base}${path}: HTTP ${response.status}: ${body.message ?? text.slice(0, 200)}`,
      );
    }
    return JSON.parse(text) as T;
  };
  return {
    page(query) {
      const params = new URLSearchParams({ after: String(query.after), limit: String(query.limit) });
      if (query.connector !== undefined) params.set("connector", query.connector);
      if (query.entityType !== undefined) params.set("entityType", query.entityType);
      if (query.waitMs > 0) params.set("wait", `${Math.min(query.waitMs, 60_000)}ms`);
      return get<ChangePage>(`${CHANGES_PATH}?${params.toString()}`);
    },
    sinks: () => get<SinkView[]>(`${CHANGES_PATH}/sinks`),
    replay: (sink) => get<ReplayOutcome>(`${CHANGES_PATH}/sinks/${encodeURIComponent(sink)}/replay`, "POST"),
    close: () => Promise.resolve(),
  };
}
