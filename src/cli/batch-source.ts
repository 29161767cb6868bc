/**
 * Where `syncup batches` reads and acts: the configuration's repository, through the
 * synchronization's services, or a server's API with the administrator's token (`--server`).
 * Both answer in the repository's shapes, so that the command renders them one way.
 */
import { ServerClient } from "../agent/client.js";
import type { Config } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { acceptValidated } from "../prepare/previous.js";
import type {
  BatchView,
  ChangePage,
  ChangePageQuery,
  ChangeSelection,
  Decision,
  DecisionOutcome,
  DecisionView,
} from "../protocol/api.js";
import type { BatchRow, BatchState, StagedCount } from "../store/types.js";
import {
  applyDecided,
  cancelBatch,
  decideBatch,
  localActor,
  requireBatch,
  undoBatch,
  validateBatch,
  type ReviewedReport,
} from "../sync/index.js";
import { batchSummary } from "../sync/inspect.js";
import { print, type CliContext } from "./context.js";
import { applyPauseHook } from "./fault-hooks.js";
import { streamLogger } from "./log.js";
import { withStore } from "./with-store.js";

export interface StagedCounts {
  resources: StagedCount[];
  links: StagedCount[];
}

/** After a local apply: whether `previous/` of the batch's connector now holds its files. */
export interface PreviousOutcome {
  readonly connector: string;
  readonly advanced: boolean;
  /** Why it did not (a partial apply, another prepare since). */
  readonly reason: "partial" | "not-last-prepare" | null;
}

/** What an apply (whole or as decided) answers. */
export interface AppliedOutcome {
  report: ReviewedReport;
  previous: PreviousOutcome | null;
}

export interface BatchSource {
  list(query: { connector?: string; state?: BatchState; limit: number }): Promise<BatchRow[]>;
  show(id: string): Promise<{ batch: BatchRow; counts: StagedCounts; decisions: DecisionView[] }>;
  changes(id: string, query: ChangePageQuery): Promise<ChangePage>;
  decide(id: string, decision: Decision, selection: ChangeSelection): Promise<DecisionOutcome>;
  /** Applies as decided (`rest`: what the undecided changes become). */
  apply(id: string, rest?: Decision): Promise<AppliedOutcome>;
  /** Applies whole. */
  validate(id: string): Promise<AppliedOutcome>;
  cancel(id: string): Promise<BatchRow>;
  undo(id: string, force: boolean): Promise<ReviewedReport>;
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
  const actor = localActor();
  const pause = applyPauseHook(ctx.env, (step) =>
    print(ctx.stderr, `syncup: paused before the apply step "${step}" (SYNCUP_TEST_APPLY_PAUSE_MS)`),
  );
  const hook = pause === undefined ? {} : { beforeApplyStep: pause };
  /** After an apply: `previous/` advances to the batch's files only when it was applied whole. */
  const accepted = async (
    config: Config,
    batch: BatchRow,
    report: ReviewedReport,
  ): Promise<AppliedOutcome> => {
    if (report.review?.partial === true) {
      return { report, previous: { connector: batch.connector, advanced: false, reason: "partial" } };
    }
    const advanced = await acceptValidated(config, batch.connector, batch);
    return {
      report,
      previous: { connector: batch.connector, advanced, reason: advanced ? null : "not-last-prepare" },
    };
  };
  return {
    list: (query) => withStore(ctx, configFile, (store) => store.batches.list(query)),
    show: (id) =>
      withStore(ctx, configFile, async (store) => ({
        batch: await requireBatch(store, id),
        counts: await batchSummary(store, id),
        decisions: await store.journal.decisions(id),
      })),
    changes: (id, query) =>
      withStore(ctx, configFile, async (store) => {
        await requireBatch(store, id);
        return store.changePages.page(id, query);
      }),
    decide: (id, decision, selection) =>
      withStore(ctx, configFile, (store) => decideBatch(store, id, actor, decision, selection)),
    apply: (id, rest) =>
      withStore(ctx, configFile, async (store, config) => {
        const batch = await requireBatch(store, id);
        const report = await applyDecided(store, config, id, actor, {
          ...hook,
          ...(rest === undefined ? {} : { rest }),
        });
        return accepted(config, batch, report);
      }),
    validate: (id) =>
      withStore(ctx, configFile, async (store, config) => {
        const batch = await requireBatch(store, id);
        return accepted(config, batch, await validateBatch(store, id, { actor, config, ...hook }));
      }),
    cancel: (id) => withStore(ctx, configFile, (store) => cancelBatch(store, id, actor)),
    undo: (id, force) =>
      withStore(ctx, configFile, (store, config) => undoBatch(store, config, id, actor, { force, ...hook })),
  };
}

function remoteSource(ctx: CliContext, url: string): BatchSource {
  const token = ctx.env["SYNCUP_ADMIN_TOKEN"];
  if (token === undefined || token === "") {
    throw new SyncupError(
      "UNAUTHORIZED",
      `--server ${url}: set SYNCUP_ADMIN_TOKEN to an administrator's token (<name>:<token>, or the token whose hash is server.adminTokenHash).`,
    );
  }
  const client = ServerClient.forAdmin(url, token, streamLogger(ctx.stderr, "warn"));
  const verb = (decision: Decision) => (decision === "approved" ? "approve" : "reject");
  return {
    list: async (query) => (await client.listBatches(query)).map(rowOf),
    show: async (id) => {
      const detail = await client.batchDetail(id);
      return {
        batch: rowOf(detail),
        counts: { resources: [...detail.changes.resources], links: [...detail.changes.links] },
        decisions: [...(detail.decisions ?? [])],
      };
    },
    changes: (id, query) => client.changes(id, query),
    decide: (id, decision, selection) => client.decide(id, verb(decision), selection),
    apply: async (id, rest) => ({
      report: (await client.apply(id, rest === undefined ? undefined : verb(rest))) as ReviewedReport,
      previous: null,
    }),
    validate: async (id) => ({ report: (await client.validate(id)) as ReviewedReport, previous: null }),
    cancel: async (id) => rowOf(await client.cancel(id)),
    undo: async (id, force) => (await client.undo(id, force)) as ReviewedReport,
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
    undoOf: view.undoOf ?? null,
    partial: view.partial ?? false,
    approved: view.approved ?? null,
    rejected: view.rejected ?? null,
    expiresAt: view.expiresAt ?? null,
  };
}
