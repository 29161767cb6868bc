import type { NativeConnection } from "./native.js";
import { ldapConnection, ldapConnectionSchema } from "./ldap/schema.js";
import { scimConnection, scimConnectionSchema } from "./scim/schema.js";
import { sqlConnection, sqlConnectionSchema } from "./sql/schema.js";

/**
 * What the configuration needs of the connectors: their connection schemas, tables and paths,
 * which load no driver.
 */
export { checkSecretSources } from "./shared/schema-parts.js";

/** The connection schemas of the native connectors, one per folder (`./<type>/schema.ts`). */
export const NATIVE_CONNECTION_SCHEMAS = [
  ldapConnectionSchema,
  scimConnectionSchema,
  sqlConnectionSchema,
] as const;

/** The native connections (schema, tables, paths), selected by a connection's `type`. */
export const NATIVE_CONNECTIONS: readonly NativeConnection[] = [
  ldapConnection,
  scimConnection,
  sqlConnection,
];

export function nativeConnection(type: string): NativeConnection | undefined {
  return NATIVE_CONNECTIONS.find((c) => c.type === type);
}
