/** The LDAP / Active Directory connector (`type: ldap`). */
import type { NativeConnector } from "../native.js";
import { ldapExport } from "./export.js";
import { ldapConnection, type LdapSettings } from "./schema.js";

export const ldapConnector: NativeConnector<LdapSettings> = { ...ldapConnection, export: ldapExport };
