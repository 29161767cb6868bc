/**
 * `syncup resources list|get|history`: one function per subcommand, each declaring its
 * options, reading the repository through the synchronization's read-only views
 * (`sync/inspect.ts`) and rendering them (`../render-resources.ts`).
 */
import type { Command } from "commander";
import { requireConnector } from "../../config/require-connector.js";
import { SyncupError } from "../../errors.js";
import { getResources, listResources, resourceHistory } from "../../sync/inspect.js";
import { print, type CliContext } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { parseCount } from "../parse-count.js";
import {
  renderHistory,
  renderResourceList,
  renderResourceViews,
  resourceListJson,
} from "../render-resources.js";
import type { DefineCommand } from "../command.js";
import { withStore } from "../with-store.js";

type SetExit = (code: number) => void;

interface ResourceOptions {
  config: string;
  connector: string;
  json?: boolean;
}

/** `resources <name>` with the options every subcommand has: the configuration and the connector. */
function subcommand(resources: Command, name: string, description: string): Command {
  return resources
    .command(name)
    .description(description)
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .requiredOption("--connector <name>", "connector");
}

/** `syncup resources list|get|history`. */
export const defineResourcesCommand: DefineCommand = (program, ctx, setExit) => {
  const resources = program.command("resources").description("Look at what the repository holds.");
  defineList(resources, ctx, setExit);
  defineGet(resources, ctx, setExit);
  defineHistory(resources, ctx, setExit);
};

function defineList(resources: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(resources, "list", "A connector's resources, by entity type and key.")
    .option("--entity-type <name>", "only this entity type")
    .option("--limit <n>", "how many", parseCount, 50)
    .option("--offset <n>", "how many to skip", parseCount, 0)
    .option("--json", "print JSON")
    .action(async (opts: ResourceOptions & { entityType?: string; limit: number; offset: number }) => {
      const rows = await withStore(ctx, opts.config, (store, config) =>
        listResources(store, {
          connector: requireConnector(config, opts.connector).name,
          limit: opts.limit,
          offset: opts.offset,
          ...(opts.entityType === undefined ? {} : { entityType: opts.entityType }),
        }),
      );
      print(ctx.stdout, opts.json === true ? resourceListJson(rows) : renderResourceList(rows));
      setExit(EXIT.OK);
    });
}

function defineGet(resources: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(resources, "get <key>", "A resource's properties and links.")
    .option("--entity-type <name>", "entity type (when several share the key)")
    .option("--json", "print JSON")
    .action(async (key: string, opts: ResourceOptions & { entityType?: string }) => {
      const views = await withStore(ctx, opts.config, (store, config) =>
        getResources(store, config, opts.connector, key, opts.entityType),
      );
      if (views.length === 0) {
        throw new SyncupError(
          "RESOURCE_NOT_FOUND",
          `Connector "${opts.connector}" has no resource with key ${JSON.stringify(key)}${opts.entityType === undefined ? "" : ` of entity type ${opts.entityType}`}.`,
        );
      }
      if (opts.json === true) print(ctx.stdout, JSON.stringify(views, null, 2));
      else for (const text of renderResourceViews(views)) print(ctx.stdout, text);
      setExit(EXIT.OK);
    });
}

function defineHistory(resources: Command, ctx: CliContext, setExit: SetExit): void {
  subcommand(resources, "history <key>", "The changes applied to a resource, oldest first.")
    .option("--json", "print JSON")
    .action(async (key: string, opts: ResourceOptions) => {
      const rows = await withStore(ctx, opts.config, (store, config) =>
        resourceHistory(store, requireConnector(config, opts.connector).name, key),
      );
      print(ctx.stdout, opts.json === true ? JSON.stringify(rows, null, 2) : renderHistory(rows));
      setExit(EXIT.OK);
    });
}
