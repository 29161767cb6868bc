import type { Command } from "commander";
import { loadConfig } from "../../config/load.js";
import type { MappingSummary } from "../../prepare/layout.js";
import { prepareConnector } from "../../prepare/prepare.js";
import { acceptPrepared } from "../../prepare/previous.js";
import { print } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { progressBar } from "../progress.js";
import { renderTable } from "../table.js";
import { modeOption, type DefineCommand } from "../command.js";

/** The per-mapping summary of a prepare as a table. */
export function renderPrepareSummary(summaries: readonly MappingSummary[]): string {
  return renderTable(
    ["mapping", "read", "kept", "null keys", "duplicates", "inserts", "updates", "deletes", "merges"],
    summaries.map((s) => [
      s.mapping,
      s.rowsRead,
      s.kept,
      s.nullKeys,
      s.duplicates,
      s.inserts,
      s.updates,
      s.deletes,
      s.merges,
    ]),
  );
}

/** `syncup prepare --connector X --mode M`, and `syncup prepare accept`. */
export const definePrepareCommand: DefineCommand = (program, ctx, setExit) => {
  const prepare = program
    .command("prepare")
    .description(
      "Clean, deduplicate and sort a connector's CSV source files; in incremental mode compute the changes.",
    )
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--connector <name>", "connector to prepare")
    .addOption(modeOption("complete"))
    .option("--json", "print the report as JSON")
    .action(
      async (opts: {
        config: string;
        connector?: string;
        mode: "initial" | "complete" | "incremental";
        json?: boolean;
        progress: boolean;
      }) => {
        if (opts.connector === undefined) {
          prepare.error("error: required option '--connector <name>' not specified");
          return;
        }
        const config = await loadConfig(opts.config, ctx.env);
        const bar = progressBar(ctx, opts.progress && opts.json !== true);
        try {
          const report = await prepareConnector(config, opts.connector, opts.mode, {
            onProgress: (mapping, done, total) => bar.update(mapping, done, total),
          });
          bar.stop();
          if (opts.json === true) print(ctx.stdout, JSON.stringify(report.manifest, null, 2));
          else {
            print(
              ctx.stdout,
              `Prepared connector ${report.manifest.connector} (${report.manifest.mode}) into ${report.dir}`,
            );
            print(ctx.stdout, renderPrepareSummary(report.manifest.summaries));
          }
          setExit(EXIT.OK);
        } finally {
          bar.stop();
        }
      },
    );
  prepare
    .command("accept")
    .description("Advance previous/ to the last prepared files, once their batch was accepted.")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--connector <name>", "connector (required)")
    .option("--batch <id>", "the batch the files were sent in")
    .action(async (opts: { batch?: string }, accept: Command) => {
      // --config and --connector may come before `accept` too, as prepare's own options.
      const given = (name: string): string | undefined =>
        (accept.getOptionValueSource(name) === "cli" ? accept : prepare).getOptionValue(name) as
          string | undefined;
      const connector = given("connector");
      if (connector === undefined) {
        accept.error("error: required option '--connector <name>' not specified");
        return;
      }
      const config = await loadConfig(given("config") ?? "syncup.yaml", ctx.env);
      const manifest = await acceptPrepared(config, connector, opts.batch ?? null);
      print(
        ctx.stdout,
        `previous/ of ${connector} now holds ${manifest.files.length} files (batch ${manifest.batch ?? "local"}).`,
      );
      setExit(EXIT.OK);
    });
};
