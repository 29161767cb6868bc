/**
 * `syncup batches list|show|changes|validate|cancel`: one function per subcommand, each
 * declaring its options and rendering what the batch source (`../batch-source.ts`: the
 * configuration's repository, or a server with `--server`) answers.
 */
import { Option, type Command } from "commander";
import { batchSource, type BatchSourceOptions } from "../batch-source.js";
import { print, type CliContext } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { parseCount } from "../parse-count.js";
import { describePrevious, renderBatchDetail, renderBatches, renderChangesPage } from "../render-batches.js";
import type { BatchState } from "../../store/types.js";
import type { DefineCommand } from "../command.js";
import { renderSyncReport } from "../sync-report.js";

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

type SetExit = (code: number) => void;

/** `batches <name>` with the options every subcommand has: where the batches are. */
function subcommand(batches: Command, name: string, description: string): Command {
  return batches
    .command(name)
    .description(description)
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--server <url>", "act on a server's batches (admin token in $SYNCUP_ADMIN_TOKEN)");
}

/** `syncup batches list|show|changes|validate|cancel`. */
export const defineBatchesCommand: DefineCommand = (program, ctx, setExit) => {
  const batches = program
    .command("batches")
    .description("List, inspect, validate or cancel synchronization batches.");
  defineList(batches, ctx, setExit);
  defineShow(batches, ctx, setExit);
  defineChanges(batches, ctx, setExit);
  defineValidate(batches, ctx, setExit);
  defineCancel(batches, ctx, setExit);
};

function defineList(batches: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(batches, "list", "The latest batches, newest first.")
    .option("--connector <name>", "only this connector's batches")
    .addOption(new Option("--state <state>", "only batches in this state").choices(BATCH_STATES))
    .option("--limit <n>", "how many", parseCount, 20)
    .option("--json", "print JSON")
    .action(
      async (
        opts: BatchSourceOptions & { connector?: string; state?: BatchState; limit: number; json?: boolean },
      ) => {
        const rows = await batchSource(ctx, opts).list({
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
}

function defineShow(batches: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(batches, "show <id>", "A batch: its state, its report, the changes it staged (or applied).")
    .option("--json", "print JSON")
    .action(async (id: string, opts: BatchSourceOptions & { json?: boolean }) => {
      const { batch, counts } = await batchSource(ctx, opts).show(id);
      print(
        ctx.stdout,
        opts.json === true
          ? JSON.stringify({ ...batch, changes: counts }, null, 2)
          : renderBatchDetail(batch, counts),
      );
      setExit(EXIT.OK);
    });
}

function defineChanges(batches: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(batches, "changes <id>", "Page through a batch's staged changes (resources first, then links).")
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
        opts: BatchSourceOptions & {
          operation?: string;
          entityType?: string;
          limit: number;
          offset: number;
          json?: boolean;
        },
      ) => {
        const page = await batchSource(ctx, opts).changes(id, {
          limit: opts.limit,
          offset: opts.offset,
          ...(opts.operation === undefined ? {} : { operation: opts.operation }),
          ...(opts.entityType === undefined ? {} : { scope: opts.entityType }),
        });
        if (opts.json === true) print(ctx.stdout, JSON.stringify(page, null, 2));
        else for (const text of renderChangesPage(page, opts.offset)) print(ctx.stdout, text);
        setExit(EXIT.OK);
      },
    );
}

function defineValidate(batches: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(
    batches,
    "validate <id>",
    "Apply a blocked batch exactly as it was staged (thresholds are not checked again).",
  )
    .option("--json", "print the report as JSON")
    .action(async (id: string, opts: BatchSourceOptions & { json?: boolean }) => {
      const { report, previous } = await batchSource(ctx, opts).validate(id);
      print(ctx.stdout, opts.json === true ? JSON.stringify(report, null, 2) : renderSyncReport(report));
      if (previous !== null && opts.json !== true) print(ctx.stdout, describePrevious(previous));
      setExit(EXIT.OK);
    });
}

function defineCancel(batches: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(batches, "cancel <id>", "Discard a blocked batch's staged changes.").action(
    async (id: string, opts: BatchSourceOptions) => {
      const batch = await batchSource(ctx, opts).cancel(id);
      print(
        ctx.stdout,
        `Batch ${batch.id} (${batch.connector} ${batch.mode}) cancelled: nothing was applied.`,
      );
      setExit(EXIT.OK);
    },
  );
}
