/** The SCIM 2.0 connector (`type: scim`). */
import type { NativeConnector } from "../native.js";
import { scimExport } from "./export.js";
import { scimConnectionSchema, scimTables, type ScimSettings } from "./schema.js";

export const scimConnector: NativeConnector<ScimSettings> = {
  type: "scim",
  schema: scimConnectionSchema,
  tables: scimTables,
  resolvePaths(settings, abs) {
    const { auth } = settings;
    if (auth.type === "bearer" && auth.tokenFile !== undefined) {
      return { ...settings, auth: { ...auth, tokenFile: abs(auth.tokenFile) } };
    }
    if (auth.type === "basic" && auth.passwordFile !== undefined) {
      return { ...settings, auth: { ...auth, passwordFile: abs(auth.passwordFile) } };
    }
    return settings;
  },
  export: scimExport,
};
