import { ldapConnectionSchema } from "./ldap/schema.js";
import { scimConnectionSchema } from "./scim/schema.js";
import { sqlConnectionSchema } from "./sql/schema.js";

/** What `config/schema.ts` needs of the connectors: their connection schemas, which load no driver. */
export { checkSecretSources } from "./shared/schema-parts.js";

/** The connection schemas of the native connectors, one per folder (`./<type>/schema.ts`). */
export const NATIVE_CONNECTION_SCHEMAS = [
  ldapConnectionSchema,
  scimConnectionSchema,
  sqlConnectionSchema,
] as const;
