/**
 * The repository store: one object per open database, grouping the repositories that own
 * every query. `openStore` picks the dialect from the URL and runs the migrations.
 */
import { SyncupError } from "../errors.js";
import { ApplyRepository } from "./apply.js";
import { BatchRepository } from "./batches.js";
import { ChangePager } from "./change-pages.js";
import { ChangeRepository } from "./changes.js";
import { ScopeCountRepository } from "./counts.js";
import { deferIndexes, type DeferredIndexes } from "./deferred-indexes.js";
import { FeedSinkRepository } from "./feed-sinks.js";
import { FeedRepository } from "./feed.js";
import type { Dialect, Driver, TransactionOptions } from "./driver.js";
import { JobInstanceRepository } from "./jobs.js";
import { JournalRepository } from "./journal.js";
import { LinkRepository } from "./links.js";
import { migrate } from "./migrate.js";
import { PendingLinkRepository } from "./pending.js";
import { POSTGRES_DDL } from "./postgres/ddl.js";
import { ResourceRepository } from "./resources.js";
import { SQLITE_DDL } from "./sqlite/ddl.js";
import { SqliteDriver } from "./sqlite/driver.js";
import { UndoRepository } from "./undo.js";

export interface Store {
  readonly dialect: Dialect;
  /** The database URL without credentials. */
  readonly label: string;
  readonly batches: BatchRepository;
  readonly resources: ResourceRepository;
  readonly links: LinkRepository;
  readonly pending: PendingLinkRepository;
  readonly changes: ChangeRepository;
  /** Pages of a batch's changes, before → after. */
  readonly changePages: ChangePager;
  /** Before-images, decisions and the decision journal. */
  readonly journal: JournalRepository;
  /** Stages the inverse of an applied batch. */
  readonly undo: UndoRepository;
  readonly counts: ScopeCountRepository;
  readonly applier: ApplyRepository;
  readonly jobs: JobInstanceRepository;
  /** The change feed's outbox. */
  readonly feed: FeedRepository;
  /** The push sinks' cursors and dead letters. */
  readonly feedSinks: FeedSinkRepository;
  /** See `deferIndexes`: in an initial load's transaction, before it writes. */
  deferIndexes(): Promise<DeferredIndexes>;
  /** Refreshes planner statistics after bulk changes (PostgreSQL). */
  analyze(tables: readonly string[]): Promise<void>;
  /** Takes the connector's synchronization lock (see `Driver.lockConnector`); returns the release. */
  lockConnector(connector: string): Promise<() => Promise<void>>;
  /** Runs `fn` in one transaction (not nestable). */
  transaction<T>(fn: () => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

/**
 * Opens `sqlite:<path>`, `sqlite::memory:`, `postgres://…` or `postgresql://…[?schema=name]`, migrated.
 * PostgreSQL's driver and client library are imported when a PostgreSQL URL is opened.
 */
export async function openStore(url: string): Promise<Store> {
  let driver: Driver;
  if (url.startsWith("sqlite:")) {
    driver = SqliteDriver.open(url);
  } else if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const { PostgresDriver } = await import("./postgres/driver.js");
    driver = await PostgresDriver.open(url);
  } else {
    throw new SyncupError(
      "DATABASE_URL_INVALID",
      `Unsupported database URL "${url.replace(/\/\/[^@/]*@/, "//…@")}": use sqlite:<path>, sqlite::memory: or postgres://user@host/database.`,
    );
  }
  try {
    await migrate(driver, driver.dialect === "sqlite" ? SQLITE_DDL : POSTGRES_DDL);
  } catch (error) {
    await driver.close();
    throw error;
  }
  return storeOn(driver);
}

/** A store over an open driver (already migrated). */
export function storeOn(driver: Driver): Store {
  const counts = new ScopeCountRepository(driver);
  const pending = new PendingLinkRepository(driver);
  const journal = new JournalRepository(driver);
  return {
    dialect: driver.dialect,
    label: driver.label,
    batches: new BatchRepository(driver),
    resources: new ResourceRepository(driver),
    links: new LinkRepository(driver),
    pending,
    changes: new ChangeRepository(driver),
    changePages: new ChangePager(driver),
    journal,
    undo: new UndoRepository(driver),
    counts,
    applier: new ApplyRepository(driver, counts, pending, journal),
    jobs: new JobInstanceRepository(driver),
    feed: new FeedRepository(driver),
    feedSinks: new FeedSinkRepository(driver),
    deferIndexes: () => deferIndexes(driver),
    analyze: (tables) => driver.analyze(tables),
    lockConnector: (connector) => driver.lockConnector(connector),
    transaction: (fn, options) => driver.transaction(fn, options),
    close: () => driver.close(),
  };
}
