import type { DefineCommand } from "../command.js";
import { defineConfigCommand } from "./config.js";
import { defineExportCommand } from "./export.js";
import { definePrepareCommand } from "./prepare.js";
import { defineRunCommand } from "./run.js";
import { defineBatchesCommand } from "./batches.js";
import { defineChangesCommand } from "./changes.js";
import { defineResourcesCommand } from "./resources.js";
import { defineSecretCommand, defineServerCommand } from "./server.js";
import { defineSyncCommand } from "./sync.js";
import { defineAgentCommand } from "./agent.js";
import { defineJobsCommand } from "./jobs.js";

/** For the commands that still import it from here; its home is `src/cli/command.ts`. */
export type { DefineCommand } from "../command.js";

/** Every subcommand, in the order of `syncup --help`. */
export const COMMANDS: readonly DefineCommand[] = [
  defineConfigCommand,
  defineExportCommand,
  definePrepareCommand,
  defineRunCommand,
  defineSyncCommand,
  defineBatchesCommand,
  defineChangesCommand,
  defineResourcesCommand,
  defineServerCommand,
  defineSecretCommand,
  defineAgentCommand,
  defineJobsCommand,
];
