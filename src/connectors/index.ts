import type { NativeConnector } from "./native.js";
import { ldapConnector } from "./ldap/index.js";
import { scimConnector } from "./scim/index.js";
import { sqlConnector } from "./sql/index.js";

/**
 * The native connectors, selected by a connection's `type`. Each one's connection (schema,
 * tables, paths) is also listed in `./schemas.ts`, kept apart so that loading a configuration
 * does not load the connectors' client libraries.
 */
export const NATIVE_CONNECTORS: readonly NativeConnector[] = [ldapConnector, scimConnector, sqlConnector];

export function nativeConnector(type: string): NativeConnector | undefined {
  return NATIVE_CONNECTORS.find((c) => c.type === type);
}
