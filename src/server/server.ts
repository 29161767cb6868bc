/**
 * `syncup server`: the repository's side. Opens the database (two connections on PostgreSQL:
 * one for the API, one for the worker's long transactions; one shared connection on SQLite,
 * whose writers are serialized anyway), starts the batch worker and the HTTP API.
 */
import { mkdir } from "node:fs/promises";
import pino, { type Logger } from "pino";
import type { Config } from "../config/config.js";
import type { ApplyStep } from "../store/apply.js";
import { FeedPusher } from "../feed/pusher.js";
import { openStore, type Store } from "../store/store.js";
import { buildApp } from "./app.js";
import { ServerMetrics } from "./metrics.js";
import { Mutex } from "./mutex.js";
import { TransferService } from "./transfer.js";
import { BatchWorker } from "./worker.js";

export interface ServerOptions {
  readonly host?: string;
  readonly port?: number;
  readonly log?: Logger;
  /** Milliseconds between two looks at the queue; default 5000. */
  readonly pollMs?: number;
  /** Where the sinks read their secrets from; default the process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds between two looks at the change feed when its sinks are caught up; default 250. */
  readonly feedPollMs?: number;
  /** Test hook: called before each step of an apply transaction. */
  readonly beforeApplyStep?: (step: ApplyStep) => Promise<void>;
}

export interface RunningServer {
  readonly url: string;
  readonly app: Awaited<ReturnType<typeof buildApp>>;
  readonly worker: BatchWorker;
  readonly store: Store;
  /** Stops taking requests, lets the batch being synchronized finish, closes the database. */
  close(): Promise<void>;
}

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? pino({ name: "syncup-server" });
  await mkdir(config.server.batchDir, { recursive: true });
  const apiStore = await openStore(config.databaseUrl);
  const apiMutex = new Mutex();
  let workerStore = apiStore;
  let workerMutex = apiMutex;
  if (apiStore.dialect === "postgres") {
    workerStore = await openStore(config.databaseUrl);
    workerMutex = new Mutex();
  }
  // Scrapes read outside the mutex, like /health: they answer while a batch is being applied.
  const metrics = new ServerMetrics(() => apiStore.batches.countByState());
  const batchDir = (id: string) => transfer.batchDir(id);
  const worker = new BatchWorker({
    config,
    store: workerStore,
    mutex: workerMutex,
    metrics,
    log,
    batchDir,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    ...(options.beforeApplyStep === undefined ? {} : { beforeApplyStep: options.beforeApplyStep }),
    committed: () => pusher.wake(),
  });
  const transfer = new TransferService({
    config,
    store: apiStore,
    mutex: apiMutex,
    metrics,
    wake: () => worker.wake(),
  });
  // The change feed's sinks and pruning, on the API's connection (short statements, under its mutex).
  const pusher = new FeedPusher({
    config,
    store: apiStore,
    serialize: (fn) => apiMutex.run(fn),
    env: options.env ?? process.env,
    log,
    ...(options.feedPollMs === undefined ? {} : { pollMs: options.feedPollMs }),
  });
  if (config.server.changeFeed !== null) {
    metrics.watchFeed(async () => ({
      last: (await apiStore.feed.bounds()).last,
      sinks: await apiStore.feedSinks.list(),
    }));
  }
  const app = await buildApp({
    config,
    store: apiStore,
    mutex: apiMutex,
    transfer,
    worker,
    metrics,
    pusher,
    log,
  });
  worker.start();
  pusher.start();
  const address = await app.listen({
    host: options.host ?? config.server.host,
    port: options.port ?? config.server.port,
  });
  log.info(
    { url: address, console: `${address}/`, database: apiStore.label, batchDir: config.server.batchDir },
    `syncup server listening; the admin console is at ${address}/`,
  );
  let closing: Promise<void> | null = null;
  return {
    url: address,
    app,
    worker,
    store: apiStore,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await pusher.stop();
        await worker.stop();
        if (workerStore !== apiStore) await workerStore.close();
        await apiStore.close();
      })()),
  };
}
