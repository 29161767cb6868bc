import { loadConfig } from "../../config/load.js";
import { SyncupError } from "../../errors.js";
import { logInstance, runJob } from "../../jobs/runner.js";
import { startScheduler } from "../../jobs/scheduler.js";
import { EXIT } from "../exit-codes.js";
import type { DefineCommand } from "../command.js";
import { runUntilSignalled } from "../signals.js";
import { logLevel, streamLogger } from "../log.js";
import { jobExitCode } from "../job-exit.js";

/** `syncup agent --config F [--once <job>]`. */
export const defineAgentCommand: DefineCommand = (program, ctx, setExit) => {
  program
    .command("agent")
    .description(
      "Run the jobs of the agent's connectors on their schedules until SIGTERM or SIGINT (JSON log lines on stdout); --once runs one job and exits.",
    )
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option(
      "--once <job>",
      "run this job now, then exit (0 succeeded, 3 blocked or waiting, 2 bad input, 1 other)",
    )
    .action(async (opts: { config: string; once?: string }) => {
      const config = await loadConfig(opts.config, ctx.env);
      const logger = streamLogger(ctx.stdout, logLevel(ctx.env));
      if (opts.once !== undefined) {
        const run = await runJob(config, opts.once, { logger, env: ctx.env });
        logInstance(logger, run.instance);
        setExit(jobExitCode(run));
        return;
      }
      const scheduler = startScheduler(config, { logger, env: ctx.env });
      if (scheduler.scheduled.length === 0) {
        await scheduler.stop();
        throw new SyncupError(
          "CONFIG_INVALID",
          `"${config.file}" has no job with a schedule${config.agent === null ? "" : ` for the connectors of agent "${config.agent.id}" (${config.agent.connectors.join(", ")})`}: add a schedule to a job, or use --once <job>.`,
        );
      }
      logger.info(
        {
          agent: config.agent?.id ?? null,
          server: config.agent?.serverUrl ?? null,
          jobs: scheduler.scheduled.length,
        },
        `Agent started: ${scheduler.scheduled.length} scheduled jobs`,
      );
      // The one exit outside bin/syncup.js: a second signal must not wait for anything.
      await runUntilSignalled(
        { name: "Agent", stop: () => scheduler.stop(), busy: () => scheduler.busy().join(", ") },
        logger,
        process,
        (code) => process.exit(code),
      );
      setExit(EXIT.OK);
    });
};
