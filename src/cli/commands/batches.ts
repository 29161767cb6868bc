/**
 * `syncup batches list|show|changes|approve|reject|apply|validate|cancel|undo`: one function per subcommand, each
 * declaring its options and rendering what the batch source (`../batch-source.ts`: the
 * configuration's repository, or a server with `--server`) answers.
 */
import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { describeCheck } from "../../core/thresholds.js";
import { SyncupError } from "../../errors.js";
import type { ChangeSelection, Decision } from "../../protocol/api.js";
import type { ReviewedReport } from "../../sync/index.js";
import { batchSource, type BatchSourceOptions, type PreviousOutcome } from "../batch-source.js";
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

/** `syncup batches list|show|changes|approve|reject|apply|validate|cancel|undo`. */
export const defineBatchesCommand: DefineCommand = (program, ctx, setExit) => {
  const batches = program
    .command("batches")
    .description(
      "List and inspect synchronization batches; decide on them (approve, reject, apply, validate, cancel); undo them.",
    );
  defineList(batches, ctx, setExit);
  defineShow(batches, ctx, setExit);
  defineChanges(batches, ctx, setExit);
  defineDecision(batches, ctx, setExit, "approved");
  defineDecision(batches, ctx, setExit, "rejected");
  defineApply(batches, ctx, setExit);
  defineValidate(batches, ctx, setExit);
  defineCancel(batches, ctx, setExit);
  defineUndo(batches, ctx, setExit);
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
  subcommand(batches, "show <id>", "A batch: its state, its report, its changes per scope, its decisions.")
    .option("--json", "print JSON")
    .action(async (id: string, opts: BatchSourceOptions & { json?: boolean }) => {
      const { batch, counts, decisions } = await batchSource(ctx, opts).show(id);
      print(
        ctx.stdout,
        opts.json === true
          ? JSON.stringify({ ...batch, changes: counts, decisions }, null, 2)
          : renderBatchDetail(batch, counts, decisions),
      );
      setExit(EXIT.OK);
    });
}

interface FilterOptions {
  kind?: "resource" | "link";
  operation?: string;
  entityType?: string;
  association?: string;
  keyPrefix?: string;
  property?: string;
  decision?: ChangeSelection["decision"];
}

/** The filter options `changes`, `approve` and `reject` share. */
function withFilters(command: Command): Command {
  return command
    .addOption(new Option("--kind <kind>", "resource or link changes only").choices(["resource", "link"]))
    .addOption(
      new Option("--operation <operation>", "only this operation").choices(["insert", "update", "delete"]),
    )
    .option("--entity-type <name>", "only this entity type")
    .option("--association <name>", "only this association")
    .option("--key-prefix <prefix>", "only keys that start with it")
    .option("--property <name>", "only updates that change this property")
    .addOption(
      new Option("--decision <decision>", "only changes with this decision").choices([
        "approved",
        "rejected",
        "undecided",
      ]),
    );
}

function filterOf(opts: FilterOptions): ChangeSelection {
  const selection: { -readonly [K in keyof ChangeSelection]: ChangeSelection[K] } = {};
  for (const name of [
    "kind",
    "operation",
    "entityType",
    "association",
    "keyPrefix",
    "property",
    "decision",
  ] as const) {
    if (opts[name] !== undefined) (selection as Record<string, unknown>)[name] = opts[name];
  }
  return selection;
}

function defineChanges(batches: Command, ctx: CliContext, setExit: SetExit): void {
  withFilters(
    subcommand(
      batches,
      "changes <id>",
      "Page through a batch's changes, before → after (resources first, then links).",
    ),
  )
    .option("--limit <n>", "changes per page", parseCount, 50)
    .option("--after <cursor>", "the page after this cursor (printed at the end of the previous page)")
    .option("--json", "print JSON")
    .action(
      async (
        id: string,
        opts: BatchSourceOptions & FilterOptions & { limit: number; after?: string; json?: boolean },
      ) => {
        const page = await batchSource(ctx, opts).changes(id, {
          ...filterOf(opts),
          limit: opts.limit,
          ...(opts.after === undefined ? {} : { after: opts.after }),
        });
        if (opts.json === true) print(ctx.stdout, JSON.stringify(page, null, 2));
        else for (const text of renderChangesPage(page, id)) print(ctx.stdout, text);
        setExit(EXIT.OK);
      },
    );
}

/** `approve` and `reject`: a decision on the changes the ids, the keys file or the filters select. */
function defineDecision(batches: Command, ctx: CliContext, setExit: SetExit, decision: Decision): void {
  const verb = decision === "approved" ? "approve" : "reject";
  withFilters(
    subcommand(
      batches,
      `${verb} <id>`,
      `${verb === "approve" ? "Approve" : "Reject"} part of a blocked or previewed batch: changes by id, by keys file or by filter.`,
    ),
  )
    .option("--ids <ids>", "change ids, comma-separated (r12,l40: the first column of `batches changes`)")
    .option("--keys-file <file>", "a file of primary keys, one a line (resource changes of those keys)")
    .option("--json", "print JSON")
    .action(
      async (
        id: string,
        opts: BatchSourceOptions & FilterOptions & { ids?: string; keysFile?: string; json?: boolean },
      ) => {
        const selection: ChangeSelection = {
          ...filterOf(opts),
          ...(opts.ids === undefined
            ? {}
            : {
                ids: opts.ids
                  .split(",")
                  .map((i) => i.trim())
                  .filter((i) => i !== ""),
              }),
          ...(opts.keysFile === undefined
            ? {}
            : { keys: await readKeysFile(opts.keysFile), kind: opts.kind ?? "resource" }),
        };
        if (Object.keys(selection).length === 0) {
          throw new SyncupError(
            "REQUEST_INVALID",
            `Say which changes to ${verb}: --ids, --keys-file or a filter (--operation, --entity-type, …). To ${verb} them all, use --decision undecided.`,
          );
        }
        const outcome = await batchSource(ctx, opts).decide(id, decision, selection);
        print(
          ctx.stdout,
          opts.json === true
            ? JSON.stringify(outcome, null, 2)
            : `${outcome.matched} changes ${decision}. Batch ${id}: ${outcome.approved} approved, ${outcome.rejected} rejected, ${outcome.undecided} undecided.${outcome.undecided === 0 ? ` Apply it: syncup batches apply ${id}` : ""}`,
        );
        setExit(EXIT.OK);
      },
    );
}

/** The primary keys of a keys file, one a line; blank lines left out. */
async function readKeysFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new SyncupError(
      "REQUEST_INVALID",
      `Cannot read the keys file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Give a file of primary keys, one a line.`,
    );
  }
  const keys = text
    .split(/\r?\n/)
    .map((k) => k.trim())
    .filter((k) => k !== "");
  if (keys.length === 0)
    throw new SyncupError(
      "REQUEST_INVALID",
      `The keys file ${file} holds no key: give one primary key a line.`,
    );
  return keys;
}

function defineApply(batches: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(
    batches,
    "apply <id>",
    "Apply a blocked or previewed batch as decided: its approved changes, in one transaction.",
  )
    .addOption(
      new Option("--rest <decision>", "what the changes without a decision become").choices([
        "approve",
        "reject",
      ]),
    )
    .option("--json", "print the report as JSON")
    .action(
      async (id: string, opts: BatchSourceOptions & { rest?: "approve" | "reject"; json?: boolean }) => {
        const rest = opts.rest === undefined ? undefined : opts.rest === "approve" ? "approved" : "rejected";
        const { report, previous } = await batchSource(ctx, opts).apply(id, rest);
        printApplied(ctx, report, previous, opts.json === true);
        setExit(EXIT.OK);
      },
    );
}

function printApplied(
  ctx: CliContext,
  report: ReviewedReport,
  previous: PreviousOutcome | null,
  json: boolean,
): void {
  if (json) {
    print(ctx.stdout, JSON.stringify(report, null, 2));
    return;
  }
  print(ctx.stdout, renderSyncReport(report));
  const review = report.review;
  if (review !== undefined) {
    print(
      ctx.stdout,
      `Applied ${review.approved} changes${review.rejected > 0 ? `, rejected ${review.rejected}` : ""}; decided by ${review.decidedBy.join(", ")}.`,
    );
    if (review.crossedByApproved.length > 0) {
      print(
        ctx.stdout,
        `The approved changes go past: ${review.crossedByApproved.map(describeCheck).join("; ")}`,
      );
    }
  }
  if (previous !== null) print(ctx.stdout, describePrevious(previous));
}

function defineValidate(batches: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(
    batches,
    "validate <id>",
    "Apply a blocked or previewed batch whole, as it was staged (thresholds are not checked again).",
  )
    .option("--json", "print the report as JSON")
    .action(async (id: string, opts: BatchSourceOptions & { json?: boolean }) => {
      const { report, previous } = await batchSource(ctx, opts).validate(id);
      printApplied(ctx, report, previous, opts.json === true);
      setExit(EXIT.OK);
    });
}

function defineUndo(batches: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(
    batches,
    "undo <id>",
    "Undo an applied batch: its inverse is staged as a new batch, which passes the thresholds like any other.",
  )
    .option("--force", "undo even when later batches changed the same resources or links")
    .option("--json", "print the report as JSON")
    .action(async (id: string, opts: BatchSourceOptions & { force?: boolean; json?: boolean }) => {
      const report = await batchSource(ctx, opts).undo(id, opts.force === true);
      if (opts.json === true) print(ctx.stdout, JSON.stringify(report, null, 2));
      else {
        print(ctx.stdout, renderSyncReport(report));
        print(
          ctx.stdout,
          report.state === "blocked"
            ? `The undo of batch ${id} is batch ${report.batchId}, blocked by its thresholds: review it and apply or cancel it.`
            : `Batch ${id} undone by batch ${report.batchId}. The connector's next run is a complete synchronization.`,
        );
      }
      setExit(report.state === "blocked" ? EXIT.BLOCKED : EXIT.OK);
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
