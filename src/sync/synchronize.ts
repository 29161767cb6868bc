/**
 * The synchronization service: one batch of one connector, from its prepared files to the
 * repository. Stage (complete, incremental) → check thresholds → apply in one transaction;
 * or load directly (initial). Expected outcomes — applied, blocked, previewed — are the
 * report's state; refusals and bad input are SyncupErrors, after which nothing was applied.
 */
import { join } from "node:path";
import { requireConnector } from "../config/require-connector.js";
import { SyncupError } from "../errors.js";
import { blockedMessage, newBatchId } from "../protocol/batch-states.js";
import type { ApplyStep } from "../store/apply.js";
import type { DeferredIndexes } from "../store/deferred-indexes.js";
import { RESOURCE_SCRATCH } from "../store/resources.js";
import type { Store } from "../store/store.js";
import type { BatchRow } from "../store/types.js";
import { recordFeed } from "./change-feed.js";
import { linkScopeOf, newMappingReport, ProblemList, throwProblems, type StageContext } from "./context.js";
import { loadInitialKeys, loadInitialLinks, loadInitialResources, type PendingOrphans } from "./initial.js";
import { expirePreviews, recoverInterrupted } from "./batches.js";
import { loadPrepared, type Prepared } from "./prepared.js";
import { incrementalBaseRefusal } from "./review.js";
import { watchProgress } from "./progress.js";
import { stageCompleteLinks, stageCompleteResources } from "./stage-complete.js";
import { stageIncrementalLinks, stageIncrementalResources } from "./stage-incremental.js";
import { batchThresholds, countedScopes } from "./thresholds-check.js";
import type { MappingReport, SyncReport, SynchronizeOptions } from "./types.js";

/** Synchronizes one connector from its prepared files (`<workDir>/<connector>/` by default). */
export async function synchronize(options: SynchronizeOptions): Promise<SyncReport> {
  const connector = requireConnector(options.config, options.connector);
  const release = await options.store.lockConnector(connector.name);
  try {
    return await synchronizeLocked(options);
  } finally {
    await release();
  }
}

async function synchronizeLocked(options: SynchronizeOptions): Promise<SyncReport> {
  const started = new Date();
  const { store, config, mode } = options;
  const connector = requireConnector(config, options.connector);
  const dir = options.dir ?? join(config.workDir, connector.name);
  await recoverInterrupted(store, connector.name);
  await expirePreviews(store, connector.name);
  let batchId: string;
  let prepared: Prepared;
  if (options.batchId === undefined) {
    prepared = await checkedPrepared(options, dir);
    batchId = newBatchId();
    await store.batches.create({
      id: batchId,
      connector: connector.name,
      mode,
      dryRun: options.dryRun === true,
      forced: options.force === true,
      source: dir,
      preparedAt: prepared.preparedAt,
      baseBatch: prepared.baseBatch,
    });
  } else {
    batchId = options.batchId;
    await claimSealed(store, batchId, connector.name, mode);
    try {
      prepared = await checkedPrepared(options, dir);
    } catch (error) {
      await store.batches.setState(batchId, "failed", { error: (error as Error).message }, "staging");
      throw error;
    }
  }
  const ctx: StageContext = {
    store,
    config,
    connector,
    batchId,
    dir,
    conversion: new ProblemList(),
    unknownKeys: new ProblemList(),
    reports: new Map(),
    orphanFiles: [],
  };
  const stopProgress = options.onProgress && watchProgress(ctx.reports, prepared, options.onProgress);
  try {
    return mode === "initial"
      ? await runInitial(ctx, prepared, options, started)
      : await runStaged(ctx, prepared, options, started);
  } catch (error) {
    const batch = await store.batches.get(batchId);
    if (batch?.state === "staging") {
      await store.changes.discard(batchId);
      await store.batches.setState(batchId, "failed", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    throw error;
  } finally {
    stopProgress?.();
  }
}

async function runStaged(
  ctx: StageContext,
  prepared: Prepared,
  options: SynchronizeOptions,
  started: Date,
): Promise<SyncReport> {
  const { store, connector, batchId } = ctx;
  const incremental = options.mode === "incremental";
  const held = await store.counts.held(connector.name, countedScopes(ctx.config, ctx.connector));
  for (const mapping of connector.entityTypeMappings) {
    const file = prepared.files.get(mapping.name);
    if (file !== undefined)
      await (incremental ? stageIncrementalResources : stageCompleteResources)(ctx, file);
  }
  throwProblems(ctx);
  await store.analyze(["UR_ResourcesChanges"]);
  for (const mapping of connector.associationMappings) {
    const file = prepared.files.get(mapping.name);
    if (file !== undefined) await (incremental ? stageIncrementalLinks : stageCompleteLinks)(ctx, file);
  }
  throwProblems(ctx);
  await store.analyze(["UR_ResourceLinkChanges"]);

  // An incremental's stage read the resources it changes, and recorded their before-images.
  await store.journal.captureBefore(batchId, { resources: !incremental });
  const checks = await batchThresholds(store, connector, batchId, held);
  const crossed = checks.filter((c) => c.crossed);
  const build = (state: SyncReport["state"]) => buildReport(ctx, options, state, checks, started);

  if (options.dryRun === true) {
    // A preview keeps its staged changes, to be reviewed (and decided on) until it expires.
    const report = build("previewed");
    const hours = options.previewHours ?? connector.review.previewHours;
    const expiresAt = new Date(Date.now() + hours * 3_600_000);
    await store.batches.setState(batchId, "previewed", {
      counts: countsOf(report),
      report,
      expiresAt: expiresAt.toISOString(),
    });
    return report;
  }
  if (options.mode === "complete") {
    for (const blocked of await store.batches.inState(connector.name, "blocked")) {
      if (
        await store.batches.setState(
          blocked.id,
          "superseded",
          { error: `superseded by complete batch ${batchId}` },
          "blocked",
        )
      ) {
        await store.changes.discard(blocked.id);
      }
    }
  }
  if (crossed.length > 0 && options.force !== true) {
    const report = build("blocked");
    await store.batches.setState(batchId, "blocked", { counts: countsOf(report), report });
    return report;
  }
  const report = build("applied");
  await store.transaction(async () => {
    await store.applier.apply(batchId, connector.name, options.beforeApplyStep);
    await recordFeed(store, ctx.config, batchId);
    await store.batches.setState(batchId, "applied", { counts: countsOf(report), report });
  });
  return report;
}

async function runInitial(
  ctx: StageContext,
  prepared: Prepared,
  options: SynchronizeOptions,
  started: Date,
): Promise<SyncReport> {
  const { store, connector, batchId } = ctx;
  const dryRun = options.dryRun === true;
  const state = dryRun ? "previewed" : "applied";
  let report: SyncReport | undefined;
  const rollback = new Error("dry run: roll back");
  try {
    await store.transaction(
      async () => {
        if (options.force === true) {
          await recordFeed(store, ctx.config, batchId, "removal");
          await store.resources.deleteConnector(connector.name);
        }
        // Pairs left pending by a load that was undone since: the connector holds no resource.
        else await store.pending.deleteConnector(connector.name);
        await loadInitial(ctx, prepared, await store.deferIndexes(), options.beforeApplyStep);
        throwProblems(ctx);
        await recordFeed(store, ctx.config, batchId, "initial");
        const loaded = (name: string) => ctx.reports.get(name)?.inserted ?? 0;
        await store.counts.loaded(connector.name, countedScopes(ctx.config, ctx.connector), {
          resources: new Map(connector.entityTypeMappings.map((m) => [m.name, loaded(m.name)])),
          links: new Map(connector.associationMappings.map((m) => [m.name, loaded(m.name)])),
        });
        await store.analyze(["UR_ResourceLinks"]);
        report = buildReport(ctx, options, state, [], started);
        if (dryRun) throw rollback;
        await store.batches.setState(batchId, "applied", { counts: countsOf(report), report });
      },
      { bulk: true },
    );
  } catch (error) {
    if (error !== rollback) throw error;
  }
  if (report === undefined) throw new Error("unreachable: initial load without a report");
  if (dryRun) await store.batches.setState(batchId, "previewed", { counts: countsOf(report), report });
  return report;
}

/**
 * The initial load's steps. On PostgreSQL, when the connector has mono-valued associations,
 * its resources are read twice (see `initial.ts`): their keys first, for those associations
 * to be resolved against, then the resources themselves, each row written once with its
 * links (an UPDATE would write each holder's row and index entries again: at 1M resources,
 * 9 s of the load). The entity types that those associations link are read first both times,
 * so that the ids given in the first pass are the ones the second gives. SQLite updates rows
 * in place, for less than the first pass would cost: it loads them once, links after.
 */
async function loadInitial(
  ctx: StageContext,
  prepared: Prepared,
  deferred: DeferredIndexes,
  beforeStep?: (step: ApplyStep) => void | Promise<void>,
): Promise<void> {
  const { store, connector, config } = ctx;
  const files = (names: readonly { name: string }[]) =>
    names.flatMap((m) => {
      const file = prepared.files.get(m.name);
      return file === undefined ? [] : [file];
    });
  const associations = files(connector.associationMappings);
  // Reports in configuration order, whichever order the files are loaded in.
  for (const file of [...files(connector.entityTypeMappings), ...associations])
    ctx.reports.set(file.mapping.name, newMappingReport(file));
  const scopes = new Map(
    connector.associationMappings.map((m) => [m.name, linkScopeOf(config, connector, m)]),
  );
  const mono = associations.flatMap((file) => {
    const scope = scopes.get(file.mapping.name)!;
    return scope.mono === null ? [] : [{ file, scope }];
  });
  const linked = new Set(mono.flatMap(({ scope }) => [scope.end1Type, scope.end2Type]));
  const entities = files(connector.entityTypeMappings).sort(
    (a, b) => Number(linked.has(b.mapping.name)) - Number(linked.has(a.mapping.name)),
  );
  const pending: PendingOrphans[] = [];
  try {
    await beforeStep?.("resources");
    const twoPasses = store.dialect === "postgres" && mono.length > 0;
    if (twoPasses) {
      const firstId = await store.resources.openScratch();
      let next = firstId;
      for (const file of entities.filter((f) => linked.has(f.mapping.name)))
        next += await loadInitialKeys(ctx, file, next);
      await store.resources.indexScratch(
        new Set(mono.flatMap(({ scope }) => [scope.key1Column, scope.key2Column])),
      );
      for (const { file } of mono) pending.push(await loadInitialLinks(ctx, file, RESOURCE_SCRATCH));
      next = firstId;
      for (const file of entities) next += await loadInitialResources(ctx, file, { firstId: next });
      await store.resources.closeScratch();
    } else {
      for (const file of entities) await loadInitialResources(ctx, file);
    }
    throwProblems(ctx);
    await deferred.afterResources();
    await store.analyze(["UR_Resources"]);
    await beforeStep?.("links");
    for (const file of associations) {
      if (!twoPasses || !mono.some((m) => m.file === file)) pending.push(await loadInitialLinks(ctx, file));
    }
    await deferred.afterLinks();
  } catch (error) {
    for (const orphans of pending) await orphans.abort();
    throw error;
  }
  for (const orphans of pending) await orphans.commit();
}

function buildReport(
  ctx: StageContext,
  options: SynchronizeOptions,
  state: SyncReport["state"],
  checks: SyncReport["thresholds"],
  started: Date,
): SyncReport {
  const mappings = [...ctx.reports.values()];
  const entities = mappings.filter((m) => m.kind === "entity");
  const associations = mappings.filter((m) => m.kind === "association");
  const total = (
    list: MappingReport[],
    key: "inserted" | "updated" | "deleted" | "unchanged" | "orphans" | "conflicts",
  ) => list.reduce((s, m) => s + m[key], 0);
  const finished = new Date();
  return {
    batchId: ctx.batchId,
    connector: ctx.connector.name,
    mode: options.mode,
    state,
    dryRun: options.dryRun === true,
    forced: options.force === true,
    resources: {
      inserted: total(entities, "inserted"),
      updated: total(entities, "updated"),
      deleted: total(entities, "deleted"),
      unchanged: total(entities, "unchanged"),
    },
    links: { inserted: total(associations, "inserted"), deleted: total(associations, "deleted") },
    orphans: total(associations, "orphans"),
    monoConflicts: total(associations, "conflicts"),
    orphanFiles: [...ctx.orphanFiles],
    mappings: mappings.map((m) => ({ ...m })),
    thresholds: checks,
    crossed: checks.filter((c) => c.crossed),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
  };
}

export function countsOf(report: SyncReport) {
  return {
    resourcesInserted: report.resources.inserted,
    resourcesUpdated: report.resources.updated,
    resourcesDeleted: report.resources.deleted,
    linksInserted: report.links.inserted,
    linksDeleted: report.links.deleted,
    orphans: report.orphans,
  };
}

/** The checks before anything is staged: blocked connector, prepared files, base batch, empty connector. */
async function checkedPrepared(options: SynchronizeOptions, dir: string): Promise<Prepared> {
  const { store, mode } = options;
  const connector = requireConnector(options.config, options.connector);
  if (mode === "incremental") {
    const blocked = await store.batches.blocked(connector.name);
    if (blocked !== undefined) throw blockedError(blocked);
  }
  const prepared = await loadPrepared(dir, connector, mode);
  if (mode === "incremental") {
    const refusal = incrementalBaseRefusal(await store.batches.lastApplied(connector.name));
    if (refusal !== null) {
      throw new SyncupError(
        "BASE_MISMATCH",
        `An incremental cannot be based on this repository: ${refusal}. Run a complete synchronization (--mode complete).`,
      );
    }
  }
  if (mode === "incremental" && prepared.baseBatch !== null) {
    const last = await store.batches.lastApplied(connector.name);
    if (last?.id !== prepared.baseBatch) {
      throw new SyncupError(
        "BASE_MISMATCH",
        `The incremental changes in "${dir}" were computed from batch ${prepared.baseBatch}, but the last batch applied to connector "${connector.name}" is ${last?.id ?? "none"}: previous/ and the repository have drifted apart. Run a complete synchronization (--mode complete).`,
      );
    }
  }
  if (mode === "initial" && options.force !== true && (await store.resources.hasAny(connector.name))) {
    throw new SyncupError(
      "INITIAL_NOT_EMPTY",
      `The repository already holds resources of connector "${connector.name}": an initial load would duplicate them. Use --mode complete to synchronize them, or --force to replace them.`,
    );
  }
  return prepared;
}

/** Moves a sealed batch (uploaded by an agent) to `staging`: only one caller ever wins it. */
async function claimSealed(store: Store, id: string, connector: string, mode: string): Promise<void> {
  const batch = await store.batches.get(id);
  if (batch?.connector !== connector || batch.mode !== mode) {
    throw new SyncupError("BATCH_NOT_FOUND", `There is no ${mode} batch ${id} of connector "${connector}".`);
  }
  if (!(await store.batches.setState(id, "staging", { error: null }, "sealed"))) {
    throw new SyncupError(
      "BATCH_STATE",
      `Batch ${id} is ${batch.state}: only a sealed batch can be synchronized, and only once.`,
    );
  }
}

export function blockedError(batch: BatchRow): SyncupError {
  return new SyncupError("CONNECTOR_BLOCKED", blockedMessage(batch.connector, batch.id));
}
