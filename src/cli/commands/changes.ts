/**
 * `syncup changes tail|sinks|replay`: the change feed from the configuration's repository or, with
 * `--server`, from a server's API (long-polled). `tail --follow` prints each event as its batch
 * commits, until interrupted; `sinks` shows each push sink's cursor, lag and dead letters;
 * `replay` delivers a sink's dead letters again.
 */
import type { Command } from "commander";
import type { ChangeEvent, SinkView } from "../../protocol/change-feed.js";
import type { DefineCommand } from "../command.js";
import { print, type CliContext } from "../context.js";
import { feedSource } from "../feed-source.js";
import { parseCount } from "../parse-count.js";

interface SourceOptions {
  config: string;
  server?: string;
}

/** `syncup changes tail|sinks|replay`. */
export const defineChangesCommand: DefineCommand = (program, ctx) => {
  const changes = program
    .command("changes")
    .description("The change feed: what each applied batch changed, for downstream systems.");
  defineTail(changes, ctx);
  defineSinks(changes, ctx);
  defineReplay(changes, ctx);
};

function subcommand(changes: Command, name: string, description: string): Command {
  return changes
    .command(name)
    .description(description)
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--server <url>", "read a server's API instead (token in SYNCUP_ADMIN_TOKEN)");
}

function defineTail(changes: Command, ctx: CliContext): void {
  subcommand(changes, "tail", "Print the feed's events after a sequence number; --follow waits for more.")
    .option("--after <seq>", "the last sequence number already seen", parseCount, 0)
    .option("--limit <n>", "events per page", parseCount, 1000)
    .option("--connector <name>", "only this connector's events")
    .option("--entity-type <name>", "only events of this entity type (or with an end of it)")
    .option("-f, --follow", "keep waiting for new events until interrupted")
    .option("--json", "print one JSON event per line")
    .action(
      async (
        opts: SourceOptions & {
          after: number;
          limit: number;
          connector?: string;
          entityType?: string;
          follow?: boolean;
          json?: boolean;
        },
      ) => {
        const source = await feedSource(ctx, opts);
        try {
          let after = opts.after;
          for (;;) {
            const page = await source.page({
              after,
              limit: opts.limit,
              connector: opts.connector,
              entityType: opts.entityType,
              waitMs: opts.follow === true ? 30_000 : 0,
            });
            for (const e of page.events)
              print(ctx.stdout, opts.json === true ? JSON.stringify(e) : eventLine(e));
            after = page.next;
            if (opts.follow !== true && page.events.length < opts.limit) return;
          }
        } finally {
          await source.close();
        }
      },
    );
}

function defineSinks(changes: Command, ctx: CliContext): void {
  subcommand(changes, "sinks", "Each push sink's cursor, lag, failures and dead letters.")
    .option("--json", "print JSON")
    .action(async (opts: SourceOptions & { json?: boolean }) => {
      const source = await feedSource(ctx, opts);
      try {
        const sinks = await source.sinks();
        print(ctx.stdout, opts.json === true ? JSON.stringify(sinks, null, 2) : sinksText(sinks));
      } finally {
        await source.close();
      }
    });
}

function defineReplay(changes: Command, ctx: CliContext): void {
  subcommand(changes, "replay", "Deliver a sink's dead letters again, oldest first (after newer events).")
    .argument("<sink>", "the sink's name in server.changeFeed.sinks")
    .option("--json", "print JSON")
    .action(async (sink: string, opts: SourceOptions & { json?: boolean }) => {
      const source = await feedSource(ctx, opts);
      try {
        const outcome = await source.replay(sink);
        const gone =
          outcome.gone.length === 0
            ? ""
            : `; ${outcome.gone.length} no longer kept by the retention (events ${outcome.gone.slice(0, 10).join(", ")}${outcome.gone.length > 10 ? ", …" : ""}): resynchronize that consumer from the repository`;
        print(
          ctx.stdout,
          opts.json === true
            ? JSON.stringify(outcome)
            : `${outcome.sink}: ${outcome.replayed} dead letters delivered again${gone}`,
        );
      } finally {
        await source.close();
      }
    });
}

/** One line of `changes tail`: seq, connector, what changed, and the batch. */
export function eventLine(e: ChangeEvent): string {
  const what =
    e.kind === "resource"
      ? `${e.operation} ${e.entityType} ${e.key}${changedNames(e)}`
      : e.kind === "link"
        ? `${e.operation === "insert" ? "link" : "unlink"} ${e.association} ${e.ends[0].entityType} ${e.ends[0].key} → ${e.ends[1].entityType} ${e.ends[1].key}`
        : `${e.operation === "insert" ? "set" : "clear"} ${e.association} of ${e.holder.entityType} ${e.holder.key} → ${e.target.entityType} ${e.target.key}`;
  return `${e.seq}\t${e.connector}\t${what}\t(${e.mode} ${e.batchId}, ${e.decision.kind})`;
}

function changedNames(e: Extract<ChangeEvent, { kind: "resource" }>): string {
  if (e.operation !== "update" || e.before === null || e.after === null) return "";
  const before = e.before.properties;
  const after = e.after.properties;
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
  return names.length === 0 ? "" : ` (${names.join(", ")})`;
}

function sinksText(sinks: readonly SinkView[]): string {
  if (sinks.length === 0) return "No sink has run yet (server.changeFeed.sinks).";
  return sinks
    .map((s) => {
      const head = `${s.name}: at ${s.position}, ${s.lag} behind, ${s.delivered} delivered, ${s.dead} dead letters`;
      const failing =
        s.attempts > 0
          ? `\n  failing: ${s.attempts} attempts, last error: ${s.lastError ?? "?"}; next at ${s.retryAt ?? "?"}`
          : "";
      const dead = s.deadLetters
        .map((d) => `\n  dead letter: event ${d.seq} at ${d.at}: ${d.error}`)
        .join("");
      return `${head}${failing}${dead}`;
    })
    .join("\n");
}
