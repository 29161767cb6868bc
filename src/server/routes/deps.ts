/**
 * What the routes of `syncup server` are given: the configuration, the API's connection and its
 * mutex, and the services that do the work. A route file takes the few of these it uses.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from "fastify";
import type { Logger } from "pino";
import type { FeedPusher } from "../../feed/pusher.js";
import type { Config } from "../../config/config.js";
import type { Store } from "../../store/store.js";
import type { ServerMetrics } from "../metrics.js";
import type { Mutex } from "../mutex.js";
import type { TransferService } from "../transfer.js";
import type { BatchWorker } from "../worker.js";

export interface AppDeps {
  readonly config: Config;
  /** The API's connection (bookkeeping, reads). */
  readonly store: Store;
  readonly mutex: Mutex;
  readonly transfer: TransferService;
  readonly worker: BatchWorker;
  readonly metrics: ServerMetrics;
  /** The change feed's push to its sinks (replays their dead letters). */
  readonly pusher: FeedPusher;
  readonly log: Logger;
}

/** The Fastify instance a route file registers on: the root one (its logger is pino's) or the API's. */
export type Api<L extends FastifyBaseLogger = FastifyBaseLogger> = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  L
>;
