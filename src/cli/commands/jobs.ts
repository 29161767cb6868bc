/**
 * `syncup jobs list|run|history`: one function per subcommand, each declaring its options and
 * rendering what the configuration, the job runner or the job history answers.
 */
import { InvalidArgumentError, type Command } from "commander";
import { ServerClient } from "../../agent/client.js";
import type { Config, JobDef } from "../../config/config.js";
import { loadConfig } from "../../config/load.js";
import { jobsOf, runJob } from "../../jobs/runner.js";
import { cronOf } from "../../jobs/scheduler.js";
import type { JobInstance } from "../../protocol/api.js";
import { openStore } from "../../store/store.js";
import { print, type CliContext } from "../context.js";
import { streamLogger } from "../log.js";
import { EXIT } from "../exit-codes.js";
import { renderTable } from "../table.js";
import type { DefineCommand } from "../command.js";
import { jobExitCode } from "../job-exit.js";

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number above 0");
  return n;
}

function formatCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .filter(([, n]) => n !== 0)
    .map(([k, n]) => `${k} ${n.toLocaleString("en-US")}`)
    .join(", ");
}

function clip(text: string | null, width: number): string {
  if (text === null) return "";
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** An instance for people: one line, its tasks, its message. */
export function renderInstance(instance: JobInstance): string {
  const mode = instance.ranMode === instance.mode ? instance.mode : `${instance.mode} → ${instance.ranMode}`;
  const lines = [
    `Job ${instance.job} (connector ${instance.connector}, ${mode}): ${instance.outcome.toUpperCase()}` +
      (instance.batchId === null ? "" : `, batch ${instance.batchId}`),
    renderTable(
      ["task", "outcome", "seconds", "counts", "message"],
      instance.tasks.map((t) => [
        t.task,
        t.outcome,
        t.seconds.toFixed(2),
        formatCounts(t.counts),
        clip(t.message, 80),
      ]),
    ),
  ];
  if (instance.message !== null) lines.push(instance.message);
  return lines.join("\n");
}

function nextRun(config: Config, job: string): string {
  const def = config.jobs[job];
  if (def === undefined || def.schedule === null) return "(manual)";
  const next = cronOf({ ...def, schedule: def.schedule }).nextRun();
  return next === null ? "(never)" : next.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

type SetExit = (code: number) => void;

/** `syncup jobs list|run|history`. */
export const defineJobsCommand: DefineCommand = (program, ctx, setExit) => {
  const jobs = program.command("jobs").description("List, run and review the configuration's jobs.");
  defineList(jobs, ctx, setExit);
  defineRun(jobs, ctx, setExit);
  defineHistory(jobs, ctx, setExit);
};

function defineList(jobs: Command, ctx: CliContext, setExit: SetExit): void {
  jobs
    .command("list")
    .description(
      "The jobs this configuration runs (an agent's: those of agent.connectors), with their next run.",
    )
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--json", "print JSON")
    .action(async (opts: { config: string; json?: boolean }) => {
      const config = await loadConfig(opts.config, ctx.env);
      const rows = jobsOf(config).map((j) => ({ ...j, nextRun: nextRun(config, j.name) }));
      print(ctx.stdout, opts.json === true ? JSON.stringify(rows, null, 2) : renderJobs(rows));
      setExit(EXIT.OK);
    });
}

function renderJobs(rows: readonly (JobDef & { nextRun: string })[]): string {
  if (rows.length === 0) return "(no jobs)";
  return renderTable(
    ["job", "connector", "mode", "schedule", "time zone", "tasks", "next run"],
    rows.map((j) => [
      j.name,
      j.connector,
      j.mode,
      j.schedule ?? "",
      j.timeZone,
      j.tasks.join(", "),
      j.nextRun,
    ]),
  );
}

function defineRun(jobs: Command, ctx: CliContext, setExit: SetExit): void {
  jobs
    .command("run <job>")
    .description(
      "Run a job now: through the server when the configuration has an agent section, else in this process into the repository.",
    )
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--json", "print the instance as JSON")
    .action(async (name: string, opts: { config: string; json?: boolean }) => {
      const config = await loadConfig(opts.config, ctx.env);
      const run = await runJob(config, name, { logger: streamLogger(ctx.stderr, "warn"), env: ctx.env });
      print(
        ctx.stdout,
        opts.json === true ? JSON.stringify(run.instance, null, 2) : renderInstance(run.instance),
      );
      setExit(jobExitCode(run));
    });
}

function defineHistory(jobs: Command, ctx: CliContext, setExit: SetExit): void {
  jobs
    .command("history")
    .description(
      "The latest job instances, newest first: from the server with an agent section, else the repository.",
    )
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--job <name>", "only this job's instances")
    .option("--limit <n>", "how many", parseLimit, 20)
    .option("--json", "print JSON")
    .action(async (opts: { config: string; job?: string; limit: number; json?: boolean }) => {
      const config = await loadConfig(opts.config, ctx.env);
      const query = { limit: opts.limit, ...(opts.job === undefined ? {} : { job: opts.job }) };
      const instances = await readHistory(config, query, ctx);
      print(ctx.stdout, opts.json === true ? JSON.stringify(instances, null, 2) : renderHistory(instances));
      setExit(EXIT.OK);
    });
}

/** The job instances: from the server with an agent section, else from the repository. */
async function readHistory(
  config: Config,
  query: { limit: number; job?: string },
  ctx: CliContext,
): Promise<JobInstance[]> {
  if (config.agent !== null) {
    const client = await ServerClient.fromConfig(config.agent, streamLogger(ctx.stderr, "warn"), ctx.env);
    return client.jobInstances(query);
  }
  const store = await openStore(config.databaseUrl);
  try {
    return await store.jobs.list(query);
  } finally {
    await store.close();
  }
}

function renderHistory(instances: readonly JobInstance[]): string {
  if (instances.length === 0) return "(no job instances)";
  return renderTable(
    ["started", "job", "connector", "mode", "outcome", "batch", "seconds", "message"],
    instances.map((i) => [
      i.startedAt.replace("T", " ").slice(0, 19),
      i.job,
      i.connector,
      i.ranMode === i.mode ? i.mode : `${i.mode} → ${i.ranMode}`,
      i.outcome,
      i.batchId?.slice(0, 8) ?? "",
      ((Date.parse(i.finishedAt) - Date.parse(i.startedAt)) / 1000).toFixed(1),
      clip(i.message, 60),
    ]),
  );
}
