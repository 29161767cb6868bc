import { acceptPrepared } from "../../prepare/previous.js";
import { withConnectorLock } from "../../support/connector-lock.js";
import { synchronize } from "../../sync/index.js";
import { modeOption, type DefineCommand } from "../command.js";
import { print } from "../context.js";
import { applyPauseHook } from "../fault-hooks.js";
import { progressBar } from "../progress.js";
import { renderSyncReport, syncExitCode } from "../sync-report.js";
import { withStore } from "../with-store.js";

/** `syncup sync --connector X --mode M [--dry-run] [--force] [--json]`. */
export const defineSyncCommand: DefineCommand = (program, ctx, setExit) => {
  program
    .command("sync")
    .description("Synchronize a connector's prepared files (<workDir>/<connector>/) into the repository.")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .requiredOption("--connector <name>", "connector to synchronize")
    .addOption(modeOption("complete"))
    .option("--dir <folder>", "folder of the prepared files (default <workDir>/<connector>)")
    .option(
      "--dry-run",
      "stage and report the changes, apply nothing: they are kept for review as a previewed batch (exit 3 when a real run would be blocked)",
    )
    .option("--force", "ignore thresholds; in initial mode, replace the connector's resources")
    .option("--json", "print the report as JSON")
    .action(
      async (opts: {
        config: string;
        connector: string;
        mode: "initial" | "complete" | "incremental";
        dir?: string;
        dryRun?: boolean;
        force?: boolean;
        json?: boolean;
        progress: boolean;
      }) => {
        const pause = applyPauseHook(ctx.env, (step) =>
          print(ctx.stderr, `syncup: paused before the apply step "${step}" (SYNCUP_TEST_APPLY_PAUSE_MS)`),
        );
        const bar = progressBar(ctx, opts.progress && opts.json !== true);
        const report = await withStore(ctx, opts.config, async (store, config) => {
          const synchronizeAndAccept = async () => {
            const report = await synchronize({
              store,
              config,
              connector: opts.connector,
              mode: opts.mode,
              ...(pause === undefined ? {} : { beforeApplyStep: pause }),
              ...(opts.dir === undefined ? {} : { dir: opts.dir }),
              dryRun: opts.dryRun === true,
              force: opts.force === true,
              onProgress: (mapping, rows, total) => bar.update(mapping, rows, total, "rows"),
            });
            if (report.state === "applied" && opts.dir === undefined) {
              // The batch is durably applied: its prepared files become the base of the next diff.
              const preparedAt = (await store.batches.get(report.batchId))?.preparedAt ?? null;
              await acceptPrepared(config, opts.connector, report.batchId, { preparedAt });
            }
            return report;
          };
          // The connector's work folder: no export or prepare of it until the accept is done.
          return opts.dir === undefined
            ? withConnectorLock(config.workDir, opts.connector, "syncup sync", synchronizeAndAccept)
            : synchronizeAndAccept();
        }).finally(() => bar.stop());
        print(ctx.stdout, opts.json === true ? JSON.stringify(report, null, 2) : renderSyncReport(report));
        setExit(syncExitCode(report));
      },
    );
};
