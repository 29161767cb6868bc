/** The LDAP / Active Directory connector (`type: ldap`). */
import type { NativeConnector } from "../native.js";
import { ldapExport } from "./export.js";
import { ldapConnectionSchema, ldapTables, type LdapSettings } from "./schema.js";

export const ldapConnector: NativeConnector<LdapSettings> = {
  type: "ldap",
  schema: ldapConnectionSchema,
  tables: ldapTables,
  resolvePaths(settings, abs) {
    return {
      ...settings,
      ...(settings.passwordFile === undefined ? {} : { passwordFile: abs(settings.passwordFile) }),
      ...(settings.tls === undefined
        ? {}
        : {
            tls: {
              ...settings.tls,
              ...(settings.tls.caFile === undefined ? {} : { caFile: abs(settings.tls.caFile) }),
            },
          }),
    };
  },
  export: ldapExport,
};
