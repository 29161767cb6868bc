import { SyncupError } from "../../errors.js";
import { getResources, listResources, resourceHistory } from "../../sync/inspect.js";
import { connectorOf } from "../../sync/synchronize.js";
import { print } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { renderTable } from "../table.js";
import { parseCount } from "./batches.js";
import type { DefineCommand } from "./index.js";
import { withStore } from "./sync.js";

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** `syncup resources list|get|history`. */
export const defineResourcesCommand: DefineCommand = (program, ctx, setExit) => {
  const resources = program.command("resources").description("Look at what the repository holds.");

  resources
    .command("list")
    .description("A connector's resources, by entity type and key.")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .requiredOption("--connector <name>", "connector")
    .option("--entity-type <name>", "only this entity type")
    .option("--limit <n>", "how many", parseCount, 50)
    .option("--offset <n>", "how many to skip", parseCount, 0)
    .option("--json", "print JSON")
    .action(
      async (opts: {
        config: string;
        connector: string;
        entityType?: string;
        limit: number;
        offset: number;
        json?: boolean;
      }) => {
        const rows = await withStore(ctx, opts.config, (store, config) =>
          listResources(store, {
            connector: connectorOf(config, opts.connector).name,
            limit: opts.limit,
            offset: opts.offset,
            ...(opts.entityType === undefined ? {} : { entityType: opts.entityType }),
          }),
        );
        if (opts.json === true) {
          print(
            ctx.stdout,
            JSON.stringify(
              rows.map((r) => ({ ...r, properties: JSON.parse(r.properties) as unknown })),
              null,
              2,
            ),
          );
        } else {
          print(
            ctx.stdout,
            rows.length === 0
              ? "(no resources)"
              : renderTable(
                  ["entity type", "key", "unique keys", "last batch"],
                  rows.map((r) => [
                    r.entityType,
                    r.pk,
                    [r.uk1, r.uk2, r.uk3].filter((k) => k !== null).join(", "),
                    r.batchId.slice(0, 8),
                  ]),
                ),
          );
        }
        setExit(EXIT.OK);
      },
    );

  resources
    .command("get <key>")
    .description("A resource's properties and links.")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .requiredOption("--connector <name>", "connector")
    .option("--entity-type <name>", "entity type (when several share the key)")
    .option("--json", "print JSON")
    .action(
      async (
        key: string,
        opts: { config: string; connector: string; entityType?: string; json?: boolean },
      ) => {
        const views = await withStore(ctx, opts.config, (store, config) =>
          getResources(store, config, opts.connector, key, opts.entityType),
        );
        if (views.length === 0) {
          throw new SyncupError(
            "RESOURCE_NOT_FOUND",
            `Connector "${opts.connector}" has no resource with key ${JSON.stringify(key)}${opts.entityType === undefined ? "" : ` of entity type ${opts.entityType}`}.`,
          );
        }
        if (opts.json === true) {
          print(ctx.stdout, JSON.stringify(views, null, 2));
        } else {
          for (const view of views) {
            print(ctx.stdout, `${view.entityType} ${view.key} (last changed by batch ${view.lastBatch})`);
            print(
              ctx.stdout,
              renderTable(
                ["property", "value"],
                Object.entries(view.properties).map(([p, v]) => [p, show(v)]),
              ),
            );
            if (view.links.length > 0) {
              print(
                ctx.stdout,
                renderTable(
                  ["association", "end", "other end", "key", "mono-valued"],
                  view.links.map((l) => [
                    l.association,
                    l.end,
                    l.otherEntityType,
                    l.otherKey,
                    l.mono ? "yes" : "",
                  ]),
                ),
              );
            }
          }
        }
        setExit(EXIT.OK);
      },
    );

  resources
    .command("history <key>")
    .description("The changes applied to a resource, oldest first.")
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .requiredOption("--connector <name>", "connector")
    .option("--json", "print JSON")
    .action(async (key: string, opts: { config: string; connector: string; json?: boolean }) => {
      const rows = await withStore(ctx, opts.config, (store, config) =>
        resourceHistory(store, connectorOf(config, opts.connector).name, key),
      );
      if (opts.json === true) {
        print(ctx.stdout, JSON.stringify(rows, null, 2));
      } else {
        print(
          ctx.stdout,
          rows.length === 0
            ? "(no applied change of this key)"
            : renderTable(
                ["batch", "mode", "finished", "operation", "entity type", "values"],
                rows.map((r) => [
                  r.batchId,
                  r.mode,
                  r.finishedAt ?? "",
                  r.operation,
                  r.entityType,
                  r.properties ?? "",
                ]),
              ),
        );
      }
      setExit(EXIT.OK);
    });
};
