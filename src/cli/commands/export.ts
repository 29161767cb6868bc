import { loadConfig } from "../../config/load.js";
import { exportConnector } from "../../export/export.js";
import { print } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { progressBar } from "../progress.js";
import { renderTable } from "../table.js";
import { modeOption, type DefineCommand } from "../command.js";

/** `syncup export --connector X [--mode M]`. */
export const defineExportCommand: DefineCommand = (program, ctx, setExit) => {
  program
    .command("export")
    .description(
      "Export a connector's managed system into CSV source files: <exportDir>/<connection>_<table>.csv.",
    )
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .requiredOption("--connector <name>", "connector to export")
    .addOption(modeOption("complete"))
    .option("--json", "print the report as JSON")
    .action(
      async (opts: {
        config: string;
        connector: string;
        mode: "initial" | "complete" | "incremental";
        json?: boolean;
        progress: boolean;
      }) => {
        const config = await loadConfig(opts.config, ctx.env);
        const bar = progressBar(ctx, opts.progress && opts.json !== true);
        try {
          const report = await exportConnector(config, opts.connector, opts.mode, {
            onProgress: (table, done, total) => bar.update(table, done, total),
          });
          bar.stop();
          if (opts.json === true) print(ctx.stdout, JSON.stringify(report, null, 2));
          else {
            print(
              ctx.stdout,
              `Exported connector ${report.connector} (${report.mode}) into ${config.exportDir}`,
            );
            print(
              ctx.stdout,
              renderTable(
                ["table", "rows", "bytes", "source"],
                report.files.map((f) => [f.table, f.rows, f.bytes, f.source]),
              ),
            );
          }
          setExit(EXIT.OK);
        } finally {
          bar.stop();
        }
      },
    );
};
