import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { defineConfigCommand } from "./config.js";

/** Adds one subcommand to the program; `setExit` records the command's exit code. */
export type DefineCommand = (program: Command, ctx: CliContext, setExit: (code: number) => void) => void;

export const COMMANDS: readonly DefineCommand[] = [defineConfigCommand];
