import { Option } from "commander";
import { loadConfig } from "../../config/load.js";
import { requireConnector } from "../../config/require-connector.js";
import { exitCodeOf } from "../exit-codes.js";
import { runConnector, type ConnectorRun, type RunMode } from "../../pipeline/run-connector.js";
import { describeCheck, openStore } from "../../sync/index.js";
import { SyncupError } from "../../errors.js";
import { print } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { nextSteps, syncExitCode } from "../sync-report.js";
import { progressBar } from "../progress.js";
import { renderTable } from "../table.js";
import type { DefineCommand } from "../command.js";

interface RunOptions {
  config: string;
  connector?: string[];
  mode: RunMode;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
  progress: boolean;
}

/** `syncup run`: export, prepare and synchronize every connector of a configuration in one process. */
export const defineRunCommand: DefineCommand = (program, ctx, setExit) => {
  program
    .command("run")
    .description(
      "Export, prepare and synchronize every connector (or those given) into the repository, in one process with no network.",
    )
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--connector <name...>", "only these connectors")
    .addOption(
      new Option(
        "--mode <mode>",
        "auto: initial for a connector the repository holds nothing of, incremental when previous/ and the repository agree, else complete; an incremental without a valid base runs as a complete",
      )
        .choices(["auto", "initial", "complete", "incremental"])
        .default("auto"),
    )
    .option("--force", "ignore thresholds (initial: replace the connector's resources)")
    .option(
      "--dry-run",
      "export, prepare and stage, apply nothing: the changes are kept for review (exit 3 when a real run would be blocked)",
    )
    .option("--json", "print the reports as JSON")
    .action(async (opts: RunOptions) => {
      const config = await loadConfig(opts.config, ctx.env);
      const names = opts.connector ?? Object.keys(config.connectors);
      for (const name of names) requireConnector(config, name);
      const store = await openStore(config.databaseUrl);
      const runs: ConnectorRun[] = [];
      const failures: { connector: string; error: unknown }[] = [];
      const bar = progressBar(ctx, opts.progress && opts.json !== true);
      try {
        for (const name of names) {
          try {
            runs.push(
              await runConnector(config, store, name, opts.mode, {
                ...(opts.force === true ? { force: true } : {}),
                ...(opts.dryRun === true ? { dryRun: true } : {}),
                onProgress: (label, done, total) => bar.update(`${name} ${label}`, done, total),
                onSyncProgress: (mapping, rows, total) =>
                  bar.update(`${name} ${mapping}`, rows, total, "rows"),
              }),
            );
          } catch (error) {
            failures.push({ connector: name, error });
          } finally {
            bar.stop();
          }
        }
      } finally {
        bar.stop();
        await store.close();
      }
      if (opts.json === true) {
        print(
          ctx.stdout,
          JSON.stringify(
            {
              database: store.label,
              runs,
              failures: failures.map((f) => ({
                connector: f.connector,
                code: f.error instanceof SyncupError ? f.error.code : "INTERNAL",
                message: f.error instanceof Error ? f.error.message : String(f.error),
              })),
            },
            null,
            2,
          ),
        );
      } else {
        printRuns(ctx.stdout, runs, store.label, config.file);
      }
      for (const failure of failures) {
        const code = failure.error instanceof SyncupError ? failure.error.code : "INTERNAL";
        const text = failure.error instanceof Error ? failure.error.message : String(failure.error);
        ctx.stderr.write(`syncup: connector ${failure.connector} failed: error ${code}: ${text}\n`);
      }
      const blocked = runs.some(
        (r) =>
          r.outcome === "blocked" ||
          r.outcome === "waiting" ||
          (r.sync !== null && syncExitCode(r.sync) !== 0),
      );
      const first = failures[0];
      setExit(first !== undefined ? exitCodeOf(first.error) : blocked ? EXIT.BLOCKED : EXIT.OK);
    });
};

function printRuns(
  out: NodeJS.WritableStream,
  runs: readonly ConnectorRun[],
  database: string,
  configFile: string,
): void {
  if (runs.length === 0) return;
  print(
    out,
    renderTable(
      [
        "connector",
        "mode",
        "batch",
        "state",
        "res. +",
        "res. ~",
        "res. −",
        "unchanged",
        "links +",
        "links −",
        "orphans",
        "seconds",
      ],
      runs.map((r) => [
        r.connector,
        r.mode,
        r.sync?.batchId.slice(0, 8) ?? "",
        r.outcome,
        r.sync?.resources.inserted ?? "",
        r.sync?.resources.updated ?? "",
        r.sync?.resources.deleted ?? "",
        r.sync?.resources.unchanged ?? "",
        r.sync?.links.inserted ?? "",
        r.sync?.links.deleted ?? "",
        r.sync?.orphans ?? "",
        r.sync?.seconds.toFixed(2) ?? "",
      ]),
    ),
  );
  for (const r of runs) printNotes(out, r, configFile);
  print(
    out,
    `Repository: ${database}. Browse it with: syncup resources list --connector ${runs[0]?.connector ?? "<name>"} --config ${configFile}`,
  );
}

/** What a run's row of the table does not say: fallbacks, rows set aside, orphans, a blocked or waiting run. */
function printNotes(out: NodeJS.WritableStream, r: ConnectorRun, configFile: string): void {
  if (r.outcome === "waiting") {
    print(out, `${r.connector}: ${r.note ?? "waits for its blocked batch"}`);
    return;
  }
  if (r.note !== null) print(out, `${r.connector}: ${r.note}`);
  const skipped = r.prepare.filter((s) => s.nullKeys > 0 || s.duplicates > 0);
  for (const s of skipped) {
    print(
      out,
      `${r.connector}: ${s.mapping}: ${s.nullKeys} rows without a key, ${s.duplicates} duplicates set aside (see ${s.mapping}.nullpk.csv, ${s.mapping}.duplicates.csv)`,
    );
  }
  const sync = r.sync;
  if (sync === null) return;
  for (const file of sync.orphanFiles) print(out, `${r.connector}: orphan links listed in ${file}`);
  if (sync.state === "blocked") {
    print(out, `${r.connector}: batch ${sync.batchId} is BLOCKED by its thresholds:`);
  } else if (sync.state === "previewed" && sync.crossed.length > 0) {
    print(
      out,
      `${r.connector}: dry run ${sync.batchId}: a real run would ${sync.forced ? "cross (forced)" : "be BLOCKED by"}:`,
    );
  }
  if (sync.state !== "applied") for (const check of sync.crossed) print(out, `  - ${describeCheck(check)}`);
  for (const line of nextSteps(sync, configFile)) print(out, `  ${line}`);
}
