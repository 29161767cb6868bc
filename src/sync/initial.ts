/**
 * Initial mode: the first load of a connector. Resources go straight to UR_Resources (COPY on
 * PostgreSQL, prepared inserts on SQLite), in file order, which is key order; then links,
 * bulk-loaded into a scratch table and resolved there in SQL. No staging, no thresholds. The
 * caller runs it in one transaction.
 *
 * Mono-valued links live in their holder's row: when a connector has some, its resources are
 * read twice. The first pass writes only their keys, with the ids they will have, to a scratch
 * table that the mono-valued associations are resolved against; the second writes each
 * resource once, with its links.
 */
import type { AssociationMappingDef, EntityTypeMappingDef } from "../config/config.js";
import { Worker } from "node:worker_threads";
import { ResourceTranslator, type ConversionProblem } from "../core/translate.js";
import { SyncupError, type ErrorCode, type FilePosition } from "../errors.js";
import type { PendingLink, PendingReason } from "../store/pending.js";
import type { NewResource } from "../store/resources.js";
import { ascendingKeys, CHUNK, linkScopeOf, newMappingReport, type StageContext } from "./context.js";
import { monoConflictReason } from "./link-stager.js";
import { missingReason, OrphanFile } from "./orphans.js";
import { openPrepared, type PreparedFile } from "./prepared.js";

/**
 * First pass of a load with mono-valued links: the keys of an entity type's rows into the
 * scratch table, with the ids from `firstId` on that `loadInitialResources` will give them.
 * Returns how many rows the file has.
 */
export async function loadInitialKeys(
  ctx: StageContext,
  file: PreparedFile,
  firstId: number,
): Promise<number> {
  const mapping = file.mapping as EntityTypeMappingDef;
  const reader = await openPrepared(file, false);
  const translator = new ResourceTranslator(mapping, reader.header, file.label, ctx.connector.name);
  const ascending = ascendingKeys(file);
  async function* keys(): AsyncGenerator<ReturnType<ResourceTranslator["keysOf"]>[]> {
    for await (const rows of reader.rows) {
      yield rows.map((row) => {
        const keys = translator.keysOf(row.fields);
        ascending(row.line, keys[0]);
        return keys;
      });
    }
  }
  try {
    return await ctx.store.resources.insertScratchKeys(ctx.connector.name, mapping.name, keys(), firstId);
  } finally {
    await reader.close();
  }
}

/**
 * Loads an entity type's file into UR_Resources; with `into`, with the ids and mono-valued
 * links of the first pass (`loadInitialKeys`). Returns how many resources it loaded.
 */
export async function loadInitialResources(
  ctx: StageContext,
  file: PreparedFile,
  into?: { readonly firstId: number },
): Promise<number> {
  const mapping = file.mapping as EntityTypeMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const batches = translatedRows(file, ctx.connector.name);
  async function* resources(): AsyncGenerator<NewResource[]> {
    for await (const batch of batches) {
      report.rows += batch.count;
      for (const problem of batch.problems) ctx.conversion.add(problem);
      // Once a value fails the load is rolled back: stop sending rows, keep reading for the report.
      if (ctx.conversion.count === 0) yield batch.rows;
    }
  }
  try {
    report.inserted = await ctx.store.resources.insertMany(
      ctx.connector.name,
      ctx.batchId,
      resources(),
      into,
    );
  } finally {
    await batches.return(undefined);
  }
  return report.inserted;
}

/** A batch of a file's rows, translated. */
export interface TranslatedBatch {
  /** The rows that translated. */
  rows: NewResource[];
  /** The values that did not. */
  problems: ConversionProblem[];
  /** The file rows the batch holds. */
  count: number;
}

export interface TranslateWorkerData {
  file: PreparedFile;
  connector: string;
}

/**
 * An entity type's file rows, read and translated batch by batch, their keys checked to
 * ascend: the same code on the main thread and in the worker.
 */
export async function* translateFile(file: PreparedFile, connector: string): AsyncGenerator<TranslatedBatch> {
  const mapping = file.mapping as EntityTypeMappingDef;
  const reader = await openPrepared(file, false);
  try {
    const translator = new ResourceTranslator(mapping, reader.header, file.label, connector);
    const ascending = ascendingKeys(file);
    for await (const rows of reader.rows) {
      const problems: ConversionProblem[] = [];
      const translated: NewResource[] = [];
      for (const row of rows) {
        ascending(row.line, translator.pkOf(row.fields));
        const resource = translator.translate(row.fields, row.line, problems);
        if (resource !== undefined) translated.push({ entityType: mapping.name, ...resource });
      }
      yield { rows: translated, problems, count: rows.length };
    }
  } finally {
    await reader.close();
  }
}

/** The worker's module: beside this one once built; the tests, which run the sources, translate here. */
const WORKER = import.meta.url.endsWith(".js") ? new URL("./translate-worker.js", import.meta.url) : null;
/** Batches the worker translates ahead of the one the main thread writes. */
const AHEAD = 2;

/**
 * An entity type's file rows, translated on a worker thread while the main thread writes the
 * batch before (on 2 cores, a load's translation then costs the main thread only the copy of
 * each batch from the worker).
 */
async function* translatedRows(file: PreparedFile, connector: string): AsyncGenerator<TranslatedBatch> {
  if (WORKER === null) {
    yield* translateFile(file, connector);
    return;
  }
  const data: TranslateWorkerData = { file, connector };
  const worker = new Worker(WORKER, { workerData: data });
  const messages: WorkerMessage[] = [];
  let wake: (() => void) | undefined;
  const arrive = (message: WorkerMessage) => {
    messages.push(message);
    wake?.();
    wake = undefined;
  };
  worker.on("message", arrive);
  worker.on("error", (error) => arrive({ kind: "error", code: null, message: error.message }));
  worker.on("exit", (code) => arrive({ kind: "error", code: null, message: `the worker stopped (${code})` }));
  try {
    for (let i = 0; i < AHEAD; i++) worker.postMessage(null);
    for (;;) {
      while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const message = messages.shift()!;
      if (message.kind === "end") return;
      if (message.kind === "error") {
        throw message.code === null
          ? new Error(`translating "${file.label}": ${message.message}`)
          : new SyncupError(
              message.code,
              message.message,
              message.position === undefined ? {} : { position: message.position },
            );
      }
      worker.postMessage(null);
      yield message;
    }
  } finally {
    worker.removeAllListeners();
    await worker.terminate();
  }
}

type WorkerMessage =
  | ({ kind: "batch" } & TranslatedBatch)
  | { kind: "end" }
  | { kind: "error"; code: ErrorCode | null; message: string; position?: FilePosition };

/** An association's orphans file, written but kept from its place until the load is sure to succeed. */
export interface PendingOrphans {
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Loads an association's file: into UR_Resources' links, its ends looked up there, or for a
 * mono-valued association into the scratch tables of the first pass, ahead of the resources
 * that hold its links. The orphans file stays pending: the caller commits it once the load
 * cannot fail any more.
 */
export async function loadInitialLinks(
  ctx: StageContext,
  file: PreparedFile,
  resources = "UR_Resources",
): Promise<PendingOrphans> {
  const mapping = file.mapping as AssociationMappingDef;
  const report = newMappingReport(file);
  ctx.reports.set(mapping.name, report);
  const scope = linkScopeOf(ctx.config, ctx.connector, mapping);
  const orphans = new OrphanFile(ctx.dir, mapping.name);
  // Set aside as pending in the load's transaction, to be tried again by the next runs.
  const pending: PendingLink[] = [];
  const pend = async (key1: string, key2: string, missing: PendingReason) => {
    pending.push({ key1, key2, missing, batchId: ctx.batchId });
    if (pending.length >= CHUNK) await flushPending();
  };
  const flushPending = async () => {
    await ctx.store.pending.insert(ctx.connector.name, mapping.name, ctx.batchId, pending);
    pending.length = 0;
  };
  const reader = await openPrepared(file, false);
  const ascending = ascendingKeys(file);
  async function* pairs(): AsyncGenerator<(readonly [number, string, string])[]> {
    for await (const rows of reader.rows) {
      const batch: (readonly [number, string, string])[] = [];
      for (const row of rows) {
        report.rows++;
        const key1 = row.fields[0] ?? "";
        const key2 = row.fields[1] ?? "";
        ascending(row.line, key1, key2);
        batch.push([row.line, key1, key2]);
      }
      yield batch;
    }
  }
  try {
    const loaded = await ctx.store.links.loadInitial(
      ctx.batchId,
      ctx.connector.name,
      scope,
      pairs(),
      resources,
      async (o) => {
        report.orphans++;
        await orphans.add(
          o.line,
          o.key1,
          o.key2,
          o.missing,
          missingReason(o.missing, scope.end1Type, scope.end2Type),
        );
        await pend(o.key1, o.key2, o.missing);
      },
    );
    report.inserted = loaded.inserted;
    for (const c of loaded.conflicts) {
      await orphans.add(c.line, c.key1, c.key2, "", monoConflictReason(scope.mono!, c.winner1, c.winner2));
      await pend(c.key1, c.key2, "conflict");
    }
    await flushPending();
    report.conflicts += loaded.conflicts.length;
  } catch (error) {
    await orphans.abort();
    throw error;
  } finally {
    await reader.close();
  }
  return {
    commit: async () => {
      const path = await orphans.close();
      if (path !== null) ctx.orphanFiles.push(path);
    },
    abort: () => orphans.abort(),
  };
}
