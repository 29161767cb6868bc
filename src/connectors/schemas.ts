import { ldapConnectionSchema } from "./ldap/schema.js";
import { scimConnectionSchema } from "./scim/schema.js";
import { sqlConnectionSchema } from "./sql/schema.js";

/** The connection schemas of the native connectors, one per folder (`./<type>/schema.ts`). */
export const NATIVE_CONNECTION_SCHEMAS = [
  ldapConnectionSchema,
  scimConnectionSchema,
  sqlConnectionSchema,
] as const;
