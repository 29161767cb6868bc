import type { EventEmitter } from "node:events";
import type { Logger } from "pino";

const SIGNALS = ["SIGTERM", "SIGINT"] as const;
type StopSignal = (typeof SIGNALS)[number];

/** What a long-running command stops on a signal. */
export interface Stoppable {
  /** Stops cleanly: the step under way finishes (a job's task, a batch's transaction). */
  stop(): Promise<void>;
  /** What is under way, for the log. */
  busy(): string;
  /** What it is, for the log ("Agent", "Server"). */
  readonly name: string;
}

/**
 * Waits for SIGTERM or SIGINT on `signals`: the first stops `what` gracefully and resolves
 * once it stopped; a second one calls `exitNow` at once, with 128 + the signal's number.
 */
export function runUntilSignalled(
  what: Stoppable,
  logger: Logger,
  signals: EventEmitter,
  exitNow: (code: number) => void,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: StopSignal) => {
      if (stopping) {
        logger.warn({ signal }, `${signal} again: exiting at once (under way: ${what.busy() || "nothing"})`);
        exitNow(signal === "SIGINT" ? 130 : 143);
        return;
      }
      stopping = true;
      logger.info(
        { signal },
        `${signal}: stopping after the step under way (${what.busy() || "nothing"}); send it again to exit at once`,
      );
      const done = () => {
        for (const s of SIGNALS) signals.off(s, onSignal);
        logger.info(`${what.name} stopped`);
        resolve();
      };
      what.stop().then(done, (error: unknown) => {
        logger.error({ error: String(error) }, `Stopping the ${what.name.toLowerCase()} failed`);
        done();
      });
    };
    for (const s of SIGNALS) signals.on(s, onSignal);
  });
}
