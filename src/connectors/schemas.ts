import { ldapConnectionSchema } from "./ldap/schema.js";

/** The connection schemas of the native connectors, one per folder (`./<type>/schema.ts`). */
export const NATIVE_CONNECTION_SCHEMAS = [ldapConnectionSchema] as const;
