import { z } from "zod";
import { loadConfig } from "../../config/load.js";
import { configSchema } from "../../config/schema.js";
import { print } from "../context.js";
import { EXIT } from "../exit-codes.js";
import type { DefineCommand } from "../command.js";

/** `syncup config check|schema`. */
export const defineConfigCommand: DefineCommand = (program, ctx, setExit) => {
  const config = program.command("config").description("Check the configuration or print its JSON Schema.");
  config
    .command("check")
    .description("Validate a configuration file and list every problem with its path.")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .action(async (opts: { config: string }) => {
      const loaded = await loadConfig(opts.config, ctx.env);
      const connectors = Object.values(loaded.connectors);
      print(
        ctx.stdout,
        `${opts.config}: valid (${Object.keys(loaded.entityTypes).length} entity types, ${connectors.length} connectors, ${connectors.reduce((n, c) => n + c.entityTypeMappings.length + c.associationMappings.length, 0)} mappings, ${Object.keys(loaded.jobs).length} jobs)`,
      );
      setExit(EXIT.OK);
    });
  config
    .command("schema")
    .description("Print the JSON Schema of syncup.yaml, for editors.")
    .action(() => {
      const schema = z.toJSONSchema(configSchema, { target: "draft-2020-12", unrepresentable: "any" });
      print(ctx.stdout, JSON.stringify({ title: "syncup.yaml", ...schema }, null, 2));
      setExit(EXIT.OK);
    });
};
