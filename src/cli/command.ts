/**
 * What a subcommand's file (`commands/<name>.ts`) is made of, and the options several share.
 * A command imports these from here, never from another command; `commands/index.ts` lists them.
 */
import { Option, type Command } from "commander";
import type { CliContext } from "./context.js";

/** Adds one subcommand to the program; `setExit` records the command's exit code. */
export type DefineCommand = (program: Command, ctx: CliContext, setExit: (code: number) => void) => void;

/** The `--mode` option shared by the pipeline commands. */
export function modeOption(defaultMode: "initial" | "complete" | "incremental"): Option {
  return new Option("--mode <mode>", "synchronization mode")
    .choices(["initial", "complete", "incremental"])
    .default(defaultMode);
}
