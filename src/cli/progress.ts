import { SingleBar } from "cli-progress";
import type { CliContext } from "./context.js";

/** What a progress bar counts: bytes of a file read (shown in MiB), or rows. */
export type ProgressUnit = "bytes" | "rows";

export interface ProgressBar {
  /** Shows `done` of `total` for `label`; a new label starts a new bar. */
  update(label: string, done: number, total: number, unit?: ProgressUnit): void;
  stop(): void;
}

/**
 * A progress bar on standard error, for people at a terminal: only when both standard output
 * and standard error are terminals (a redirected or piped output gets no escape sequences), and
 * the command was not given `--no-progress`. Otherwise it does nothing.
 */
export function progressBar(ctx: CliContext, enabled: boolean): ProgressBar {
  if (!enabled || ctx.stderr.isTTY !== true || ctx.stdout.isTTY !== true) {
    return { update: () => undefined, stop: () => undefined };
  }
  const bar = new SingleBar({
    stream: ctx.stderr,
    format: "{label} [{bar}] {percentage}% {value}/{total} {unit}",
    hideCursor: true,
    clearOnComplete: true,
  });
  let current = "";
  return {
    update(label, done, total, unit = "bytes") {
      const scale = unit === "bytes" ? (n: number) => Math.round((n / 1048576) * 10) / 10 : (n: number) => n;
      const payload = { label, unit: unit === "bytes" ? "MiB" : "rows" };
      if (label !== current) {
        if (current !== "") bar.stop();
        bar.start(scale(total), scale(done), payload);
        current = label;
      } else {
        bar.update(scale(done), payload);
      }
    },
    stop() {
      if (current !== "") bar.stop();
      current = "";
    },
  };
}
