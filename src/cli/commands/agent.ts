import type { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { loadConfig } from "../../config/load.js";
import { SyncupError } from "../../errors.js";
import { logInstance, runJob } from "../../jobs/runner.js";
import { startScheduler, type Scheduler } from "../../jobs/scheduler.js";
import { EXIT } from "../exit-codes.js";
import type { DefineCommand } from "./index.js";
import { jobExitCode, streamLogger } from "./jobs.js";

const SIGNALS = ["SIGTERM", "SIGINT"] as const;
type StopSignal = (typeof SIGNALS)[number];

/**
 * Waits for SIGTERM or SIGINT on `signals`: the first stops the scheduler gracefully (the
 * running job finishes its current task) and resolves once it is idle; a second one calls
 * `exitNow` at once, with 128 + the signal's number.
 */
export function runUntilSignalled(
  scheduler: Scheduler,
  logger: Logger,
  signals: EventEmitter,
  exitNow: (code: number) => void,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: StopSignal) => {
      if (stopping) {
        logger.warn(
          { signal },
          `${signal} again: exiting at once (running jobs: ${scheduler.busy().join(", ") || "none"})`,
        );
        exitNow(signal === "SIGINT" ? 130 : 143);
        return;
      }
      stopping = true;
      logger.info(
        { signal },
        `${signal}: stopping after the running task (running or queued: ${scheduler.busy().join(", ") || "none"}); send it again to exit at once`,
      );
      const done = () => {
        for (const s of SIGNALS) signals.off(s, onSignal);
        logger.info("Agent stopped");
        resolve();
      };
      scheduler.stop().then(done, (error: unknown) => {
        logger.error({ error: String(error) }, "Stopping the scheduler failed");
        done();
      });
    };
    for (const s of SIGNALS) signals.on(s, onSignal);
  });
}

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
      const logger = streamLogger(ctx.stdout);
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
      await runUntilSignalled(scheduler, logger, process, (code) => process.exit(code));
      setExit(EXIT.OK);
    });
};
