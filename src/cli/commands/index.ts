import { Option, type Command } from "commander";
import type { CliContext } from "../context.js";
import { defineConfigCommand } from "./config.js";
import { defineExportCommand } from "./export.js";
import { definePrepareCommand } from "./prepare.js";
import { defineRunCommand } from "./run.js";
import { defineBatchesCommand } from "./batches.js";
import { defineResourcesCommand } from "./resources.js";
import { defineSecretCommand, defineServerCommand } from "./server.js";
import { defineSyncCommand } from "./sync.js";
import { defineAgentCommand } from "./agent.js";
import { defineJobsCommand } from "./jobs.js";

/** Adds one subcommand to the program; `setExit` records the command's exit code. */
export type DefineCommand = (program: Command, ctx: CliContext, setExit: (code: number) => void) => void;

/** The `--mode` option shared by the pipeline commands. */
export function modeOption(defaultMode: "initial" | "complete" | "incremental"): Option {
  return new Option("--mode <mode>", "synchronization mode")
    .choices(["initial", "complete", "incremental"])
    .default(defaultMode);
}

export const COMMANDS: readonly DefineCommand[] = [
  defineConfigCommand,
  defineExportCommand,
  definePrepareCommand,
  defineRunCommand,
  defineSyncCommand,
  defineBatchesCommand,
  defineResourcesCommand,
  defineServerCommand,
  defineSecretCommand,
  defineAgentCommand,
  defineJobsCommand,
];
