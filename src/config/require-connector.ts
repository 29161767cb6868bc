import { SyncupError } from "../errors.js";
import type { Config, ConnectorDef } from "./config.js";

/**
 * The connector `name` of the configuration, or CONFIG_INVALID. The message lists the connectors
 * there are, unless `listOthers` is false: the server answers agents, which need not learn the
 * names of connectors that are not theirs.
 */
export function requireConnector(
  config: Config,
  name: string,
  options: { readonly listOthers?: boolean } = {},
): ConnectorDef {
  const connector = config.connectors[name];
  if (connector !== undefined) return connector;
  if (options.listOthers === false) {
    throw new SyncupError("CONFIG_INVALID", `The configuration has no connector "${name}".`);
  }
  throw new SyncupError(
    "CONFIG_INVALID",
    `Unknown connector "${name}" (the configuration has: ${Object.keys(config.connectors).join(", ") || "none"}).`,
  );
}
