import type { NativeConnector } from "./native.js";

/**
 * The native connectors, selected by a connection's `type`, each imported when a connection of
 * its type exports: a command that exports CSV files or runs a command loads no directory, SCIM
 * or database client. Each one's connection (schema, tables, paths) is also listed in
 * `./schemas.ts`, kept apart so that loading a configuration does not load them either.
 */
const NATIVE_CONNECTORS: Readonly<Record<string, () => Promise<NativeConnector>>> = {
  ldap: async () => (await import("./ldap/index.js")).ldapConnector,
  scim: async () => (await import("./scim/index.js")).scimConnector,
  sql: async () => (await import("./sql/index.js")).sqlConnector,
};

export async function nativeConnector(type: string): Promise<NativeConnector | undefined> {
  const load = Object.hasOwn(NATIVE_CONNECTORS, type) ? NATIVE_CONNECTORS[type] : undefined;
  if (load === undefined) return undefined;
  const connector = await load();
  return connector.type === type ? connector : undefined;
}
