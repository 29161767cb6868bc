/** The SCIM 2.0 connector (`type: scim`). */
import type { NativeConnector } from "../native.js";
import { scimExport } from "./export.js";
import { scimConnection, type ScimSettings } from "./schema.js";

export const scimConnector: NativeConnector<ScimSettings> = { ...scimConnection, export: scimExport };
