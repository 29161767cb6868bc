/**
 * Where `syncup batches` reads and acts: the configuration's repository, through the
 * synchronization's services, or a server's API with the administrator's token (`--server`).
 * Both answer in the repository's shapes, so that the command renders them one way.
 */
import { ServerClient } from "../agent/client.js";
import { SyncupError } from "../errors.js";
import { acceptValidated } from "../prepare/previous.js";
import type { BatchView } from "../protocol/api.js";
import type { BatchRow, BatchState, ChangeFilter, ChangeRow, StagedCount } from "../store/types.js";
import { cancelBatch, requireBatch, validateBatch, type SyncReport } from "../sync/index.js";
import { batchChanges, batchSummary } from "../sync/inspect.js";
import type { CliContext } from "./context.js";
import { streamLogger } from "./log.js";
import { withStore } from "./with-store.js";

export interface StagedCounts {
  resources: StagedCount[];
  links: StagedCount[];
}

/** After a local validation: whether `previous/` of the batch's connector now holds its files. */
export interface PreviousOutcome {
  readonly connector: string;
  readonly advanced: boolean;
}

export interface BatchSource {
  list(query: { connector?: string; state?: BatchState; limit: number }): Promise<BatchRow[]>;
  show(id: string): Promise<{ batch: BatchRow; counts: StagedCounts }>;
  changes(
    id: string,
    filter: ChangeFilter & { limit: number; offset: number },
  ): Promise<{ rows: ChangeRow[]; total: number }>;
  /** The applied report, and what became of the local `previous/` (null on a server). */
  validate(id: string): Promise<{ report: SyncReport; previous: PreviousOutcome | null }>;
  cancel(id: string): Promise<BatchRow>;
}

/** The options that choose the source: a configuration file, or a server's URL. */
export interface BatchSourceOptions {
  config: string;
  server?: string;
}

export function batchSource(ctx: CliContext, opts: BatchSourceOptions): BatchSource {
  return opts.server === undefined ? localSource(ctx, opts.config) : remoteSource(ctx, opts.server);
}

function localSource(ctx: CliContext, configFile: string): BatchSource {
  return {
    list: (query) => withStore(ctx, configFile, (store) => store.batches.list(query)),
    show: (id) =>
      withStore(ctx, configFile, async (store) => ({
        batch: await requireBatch(store, id),
        counts: await batchSummary(store, id),
      })),
    changes: (id, filter) => withStore(ctx, configFile, (store) => batchChanges(store, id, filter)),
    validate: (id) =>
      withStore(ctx, configFile, async (store, config) => {
        const batch = await requireBatch(store, id);
        const report = await validateBatch(store, id);
        const advanced = await acceptValidated(config, batch.connector, batch);
        return { report, previous: { connector: batch.connector, advanced } };
      }),
    cancel: (id) => withStore(ctx, configFile, (store) => cancelBatch(store, id)),
  };
}

function remoteSource(ctx: CliContext, url: string): BatchSource {
  const token = ctx.env["SYNCUP_ADMIN_TOKEN"];
  if (token === undefined || token === "") {
    throw new SyncupError(
      "UNAUTHORIZED",
      `--server ${url}: set SYNCUP_ADMIN_TOKEN to the administrator token (the one whose hash is the server's server.adminTokenHash).`,
    );
  }
  const client = ServerClient.forAdmin(url, token, streamLogger(ctx.stderr, "warn"));
  return {
    list: async (query) => (await client.listBatches(query)).map(rowOf),
    show: async (id) => {
      const detail = await client.batchDetail(id);
      return {
        batch: rowOf(detail),
        counts: { resources: [...detail.changes.resources], links: [...detail.changes.links] },
      };
    },
    changes: async (id, filter) => {
      const page = await client.changes(id, {
        offset: filter.offset,
        limit: filter.limit,
        ...(filter.operation === undefined ? {} : { operation: filter.operation }),
        ...(filter.scope === undefined ? {} : { entityType: filter.scope }),
      });
      return { rows: [...page.rows], total: page.total };
    },
    validate: async (id) => ({ report: (await client.validate(id)) as SyncReport, previous: null }),
    cancel: async (id) => rowOf(await client.cancel(id)),
  };
}

/** A batch as the API shows it, in the repository's shape. */
function rowOf(view: BatchView): BatchRow {
  return {
    ...view,
    ...view.counts,
    dryRun: false,
    forced: false,
    source: null,
    preparedAt: null,
    report: view.report ?? null,
  };
}
