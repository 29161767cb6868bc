import { InvalidArgumentError, Option } from "commander";
import { describeCheck } from "../../core/thresholds.js";
import { ServerClient } from "../../agent/client.js";
import { acceptValidated } from "../../prepare/previous.js";
import { SyncupError } from "../../errors.js";
import type { BatchView } from "../../protocol/api.js";
import type { BatchRow, BatchState, ChangeFilter, ChangeRow, StagedCount } from "../../store/types.js";
import { cancelBatch, requireBatch, validateBatch, type SyncReport } from "../../sync/index.js";
import { batchChanges, batchSummary } from "../../sync/inspect.js";
import { print, type CliContext } from "../context.js";
import { streamLogger } from "../log.js";
import { EXIT } from "../exit-codes.js";
import { renderTable } from "../table.js";
import type { DefineCommand } from "./index.js";
import { renderSyncReport, withStore } from "./sync.js";

const BATCH_STATES = [
  "notified",
  "sealed",
  "staging",
  "blocked",
  "applied",
  "cancelled",
  "superseded",
  "failed",
  "previewed",
];

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
  return n;
}

function renderBatches(batches: readonly BatchRow[]): string {
  return renderTable(
    [
      "batch",
      "connector",
      "mode",
      "state",
      "created",
      "res. +",
      "res. ~",
      "res. −",
      "links +",
      "links −",
      "orphans",
    ],
    batches.map((b) => [
      b.id,
      b.connector,
      b.mode,
      b.state,
      b.createdAt.replace("T", " ").slice(0, 19),
      b.resourcesInserted,
      b.resourcesUpdated,
      b.resourcesDeleted,
      b.linksInserted,
      b.linksDeleted,
      b.orphans,
    ]),
  );
}

function renderCounts(counts: { resources: StagedCount[]; links: StagedCount[] }): string {
  const rows = [...counts.resources, ...counts.links].map((c) => [c.scope, c.operation, c.n]);
  return rows.length === 0
    ? "(no staged changes)"
    : renderTable(["entity type / association", "operation", "changes"], rows);
}

interface BatchOptions {
  config: string;
  server?: string;
}

/** Where `syncup batches` reads and acts: the configuration's repository, or a server's API. */
interface BatchSource {
  list(query: { connector?: string; state?: BatchState; limit: number }): Promise<BatchRow[]>;
  show(id: string): Promise<{ batch: BatchRow; counts: { resources: StagedCount[]; links: StagedCount[] } }>;
  changes(
    id: string,
    filter: ChangeFilter & { limit: number; offset: number },
  ): Promise<{ rows: ChangeRow[]; total: number }>;
  /** The applied report, and what became of the local `previous/` (null on a server). */
  validate(id: string): Promise<{ report: SyncReport; previous: string | null }>;
  cancel(id: string): Promise<BatchRow>;
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
        return {
          report,
          previous: advanced
            ? `previous/ of connector "${batch.connector}" now holds the files of this batch: the next incremental run is based on it.`
            : `This batch was not staged from connector "${batch.connector}"'s last prepare: previous/ stays as it was, so run a complete synchronization next.`,
        };
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
  const rowOf = (view: BatchView): BatchRow => ({
    ...view,
    ...view.counts,
    dryRun: false,
    forced: false,
    source: null,
    preparedAt: null,
    report: view.report ?? null,
  });
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

function sourceOf(ctx: CliContext, opts: BatchOptions): BatchSource {
  return opts.server === undefined ? localSource(ctx, opts.config) : remoteSource(ctx, opts.server);
}

const SERVER_OPTION = [
  "--server <url>",
  "act on a server's batches (admin token in $SYNCUP_ADMIN_TOKEN)",
] as const;

/** `syncup batches list|show|changes|validate|cancel`. */
export const defineBatchesCommand: DefineCommand = (program, ctx, setExit) => {
  const batches = program
    .command("batches")
    .description("List, inspect, validate or cancel synchronization batches.");

  batches
    .command("list")
    .description("The latest batches, newest first.")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option(...SERVER_OPTION)
    .option("--connector <name>", "only this connector's batches")
    .addOption(new Option("--state <state>", "only batches in this state").choices(BATCH_STATES))
    .option("--limit <n>", "how many", parseCount, 20)
    .option("--json", "print JSON")
    .action(
      async (
        opts: BatchOptions & {
          connector?: string;
          state?: BatchRow["state"];
          limit: number;
          json?: boolean;
        },
      ) => {
        const rows = await sourceOf(ctx, opts).list({
          limit: opts.limit,
          ...(opts.connector === undefined ? {} : { connector: opts.connector }),
          ...(opts.state === undefined ? {} : { state: opts.state }),
        });
        print(
          ctx.stdout,
          opts.json === true
            ? JSON.stringify(rows, null, 2)
            : rows.length === 0
              ? "(no batches)"
              : renderBatches(rows),
        );
        setExit(EXIT.OK);
      },
    );

  batches
    .command("show <id>")
    .description("A batch: its state, its report, the changes it staged (or applied).")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option(...SERVER_OPTION)
    .option("--json", "print JSON")
    .action(async (id: string, opts: BatchOptions & { json?: boolean }) => {
      const { batch, counts } = await sourceOf(ctx, opts).show(id);
      if (opts.json === true) {
        print(ctx.stdout, JSON.stringify({ ...batch, changes: counts }, null, 2));
      } else {
        const report = batch.report as SyncReport | null;
        const lines = [renderBatches([batch])];
        if (batch.error !== null) lines.push(`Error: ${batch.error}`);
        if (report !== null) {
          lines.push(
            renderSyncReport({ ...report, state: batch.state === "applied" ? "applied" : report.state }),
          );
          if (report.crossed.length === 0 && report.thresholds.length > 0) {
            lines.push(`Thresholds checked: ${report.thresholds.map(describeCheck).join("; ")}`);
          }
        }
        lines.push(batch.state === "applied" ? "Journal:" : "Staged changes:", renderCounts(counts));
        print(ctx.stdout, lines.join("\n"));
      }
      setExit(EXIT.OK);
    });

  batches
    .command("changes <id>")
    .description("Page through a batch's staged changes (resources first, then links).")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option(...SERVER_OPTION)
    .addOption(
      new Option("--operation <operation>", "only this operation").choices(["insert", "update", "delete"]),
    )
    .option("--entity-type <name>", "only this entity type or association")
    .option("--limit <n>", "changes per page", parseCount, 50)
    .option("--offset <n>", "changes to skip", parseCount, 0)
    .option("--json", "print JSON")
    .action(
      async (
        id: string,
        opts: BatchOptions & {
          operation?: string;
          entityType?: string;
          limit: number;
          offset: number;
          json?: boolean;
        },
      ) => {
        const page = await sourceOf(ctx, opts).changes(id, {
          limit: opts.limit,
          offset: opts.offset,
          ...(opts.operation === undefined ? {} : { operation: opts.operation }),
          ...(opts.entityType === undefined ? {} : { scope: opts.entityType }),
        });
        if (opts.json === true) {
          print(ctx.stdout, JSON.stringify(page, null, 2));
        } else {
          print(
            ctx.stdout,
            renderTable(
              ["kind", "operation", "entity type / association", "key", "line", "values"],
              page.rows.map((r) => [
                r.kind,
                r.operation,
                r.scope,
                r.key2 === null ? r.key : `${r.key} → ${r.key2}`,
                r.line ?? "",
                r.properties === null
                  ? ""
                  : r.properties.length > 80
                    ? `${r.properties.slice(0, 77)}…`
                    : r.properties,
              ]),
            ),
          );
          const last = Math.min(opts.offset + page.rows.length, page.total);
          print(ctx.stdout, `${page.total === 0 ? 0 : opts.offset + 1}–${last} of ${page.total}`);
        }
        setExit(EXIT.OK);
      },
    );

  batches
    .command("validate <id>")
    .description("Apply a blocked batch exactly as it was staged (thresholds are not checked again).")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option(...SERVER_OPTION)
    .option("--json", "print the report as JSON")
    .action(async (id: string, opts: BatchOptions & { json?: boolean }) => {
      const { report, previous } = await sourceOf(ctx, opts).validate(id);
      print(ctx.stdout, opts.json === true ? JSON.stringify(report, null, 2) : renderSyncReport(report));
      if (previous !== null && opts.json !== true) print(ctx.stdout, previous);
      setExit(EXIT.OK);
    });

  batches
    .command("cancel <id>")
    .description("Discard a blocked batch's staged changes.")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option(...SERVER_OPTION)
    .action(async (id: string, opts: BatchOptions) => {
      const batch = await sourceOf(ctx, opts).cancel(id);
      print(
        ctx.stdout,
        `Batch ${batch.id} (${batch.connector} ${batch.mode}) cancelled: nothing was applied.`,
      );
      setExit(EXIT.OK);
    });
};
