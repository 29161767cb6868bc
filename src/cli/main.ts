/**
 * Entry point of the `syncup` CLI. Each subcommand lives in its own file under `./commands/`
 * and returns an exit code; only `bin/syncup.js` sets the process's exit code.
 */
import { Command, CommanderError } from "commander";
import { formatPosition, SyncupError } from "../errors.js";
import type { CliContext } from "./context.js";
import { EXIT, exitCodeOf } from "./exit-codes.js";
import { COMMANDS } from "./commands/index.js";
import { dropWritesAfterClose } from "./output.js";

export async function main(argv: readonly string[], context?: Partial<CliContext>): Promise<number> {
  const ctx: CliContext = {
    stdout: context?.stdout ?? process.stdout,
    stderr: context?.stderr ?? process.stderr,
    env: context?.env ?? process.env,
    cwd: context?.cwd ?? process.cwd(),
  };
  dropWritesAfterClose(ctx.stdout);
  dropWritesAfterClose(ctx.stderr);
  let exitCode: number = EXIT.OK;
  const program = new Command("syncup")
    .description("Upward data synchronization of identity data: export, prepare, synchronize.")
    .version("0.1.0")
    .exitOverride()
    // A command's options go after its name, and a subcommand's after its own: `prepare accept
    // --connector X` is accept's --connector, not prepare's (which would leave accept without one).
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  for (const define of COMMANDS) {
    define(program, ctx, (code) => {
      exitCode = code;
    });
  }
  acceptNoProgress(program);
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT;
    }
    reportError(ctx, error);
    return exitCodeOf(error);
  }
}

/**
 * Every command takes `--no-progress`, so that scripts can pass it to any of them; those that
 * show a progress bar (export, prepare, sync, run) read it as `progress: false`.
 */
function acceptNoProgress(command: Command): void {
  for (const sub of command.commands) {
    if (!sub.options.some((o) => o.long === "--no-progress")) sub.option("--no-progress", "no progress bar");
    acceptNoProgress(sub);
  }
}

function reportError(ctx: CliContext, error: unknown): void {
  if (error instanceof SyncupError) {
    const where =
      error.position && !error.message.includes(`"${error.position.file}"`)
        ? ` (${formatPosition(error.position)})`
        : "";
    ctx.stderr.write(`syncup: error ${error.code}: ${error.message}${where}\n`);
    return;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  ctx.stderr.write(`syncup: unexpected error: ${text}\n`);
}
