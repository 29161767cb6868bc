import { SingleBar } from "cli-progress";
import type { CliContext } from "./context.js";

/** A progress bar on a terminal's standard error; does nothing when stderr is not a terminal. */
export function progressBar(
  ctx: CliContext,
  enabled: boolean,
): { update: (label: string, done: number, total: number) => void; stop: () => void } {
  if (!enabled || ctx.stderr.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({
    stream: ctx.stderr,
    format: "{label} [{bar}] {percentage}% {value}/{total} MiB",
    hideCursor: true,
    clearOnComplete: true,
  });
  let current = "";
  return {
    update(label, done, total) {
      const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
      if (label !== current) {
        if (current !== "") bar.stop();
        bar.start(mib(total), mib(done), { label });
        current = label;
      } else {
        bar.update(mib(done), { label });
      }
    },
    stop() {
      if (current !== "") bar.stop();
    },
  };
}
