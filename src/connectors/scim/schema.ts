/** The settings of a SCIM 2.0 connection (`type: scim`, RFC 7643/7644). */
import { z } from "zod";
import type { NativeConnection } from "../native.js";
import { checkSecretSources, retries, tableName, timeoutSeconds } from "../shared/schema-parts.js";

/** The columns of the Users table when `attributes` is not set. */
export const DEFAULT_USER_ATTRIBUTES = [
  "externalId",
  "userName",
  "name.givenName",
  "name.familyName",
  "displayName",
  "active",
  "emails[primary].value",
  "meta.created",
  "meta.lastModified",
] as const;

/** The columns of the Groups table when `attributes` is not set. */
export const DEFAULT_GROUP_ATTRIBUTES = [
  "externalId",
  "displayName",
  "meta.created",
  "meta.lastModified",
] as const;

/** The link table of the Groups resource type when `links` is not set. */
export const DEFAULT_GROUP_LINKS = {
  groupmembers: { attribute: "members.value", keyColumn: "groupId", valueColumn: "memberId" },
} as const;

const attributePath = z
  .string()
  .min(1)
  .regex(
    /^(urn:[^\s]+:)?[A-Za-z$][\w$-]*(\[[^\]]+\])?(\.[A-Za-z$][\w$-]*(\[[^\]]+\])?)*$/,
    "use an attribute path such as name.givenName, emails[primary].value or urn:…:User:manager.value",
  );

const link = z.strictObject({
  /** The path of the values linked to (`members.value`). */
  attribute: attributePath.describe("Path of the linked values, e.g. members.value."),
  /** The first column's name: the resource's id (default `id`). */
  keyColumn: z.string().min(1).default("id").describe("Name of the column holding the resource's id."),
  /** The second column's name (default `value`). */
  valueColumn: z.string().min(1).default("value").describe("Name of the column holding the linked value."),
});

const resourceType = z.strictObject({
  /** The endpoint below baseUrl (default `/<ResourceType>`, e.g. `/Users`). */
  endpoint: z
    .string()
    .regex(/^\/?[A-Za-z][\w.-]*$/, "an endpoint such as /Users")
    .optional()
    .describe("Endpoint below baseUrl; default /<ResourceType>."),
  /** The columns after `id`, as attribute paths (defaults exist for Users and Groups). */
  attributes: z
    .array(attributePath)
    .optional()
    .describe("Columns after id, as attribute paths (defaults for Users and Groups)."),
  /** A SCIM filter (RFC 7644 3.4.2.2) selecting the resources; default all. */
  filter: z.string().min(1).optional().describe("SCIM filter selecting the resources; default all."),
  /** Association files: `{ <table>: { attribute, keyColumn, valueColumn } }` (default for Groups: groupmembers). */
  links: z
    .record(tableName, link)
    .optional()
    .describe(
      "{ table: { attribute, keyColumn, valueColumn } }; Groups default: groupmembers (groupId;memberId).",
    ),
});

const bearer = z.strictObject({
  type: z.literal("bearer"),
  /** The name of the environment variable holding the token. */
  tokenEnv: z.string().min(1).optional().describe("Environment variable holding the bearer token."),
  /** The path of a file holding the token. */
  tokenFile: z.string().min(1).optional().describe("File holding the bearer token."),
});

const basic = z.strictObject({
  type: z.literal("basic"),
  username: z.string().min(1),
  /** The name of the environment variable holding the password. */
  passwordEnv: z.string().min(1).optional().describe("Environment variable holding the password."),
  /** The path of a file holding the password. */
  passwordFile: z.string().min(1).optional().describe("File holding the password."),
});

export const scimConnectionSchema = z
  .strictObject({
    type: z.literal("scim"),
    /** The service's base URL, e.g. `https://idp.example.com/scim/v2`. */
    baseUrl: z
      .string()
      .regex(/^https?:\/\/[^\s?#]+$/i, "an http:// or https:// URL without query")
      .describe("Base URL of the SCIM service, e.g. https://idp.example.com/scim/v2."),
    /** `{ type: bearer, tokenEnv | tokenFile }` or `{ type: basic, username, passwordEnv | passwordFile }`. */
    auth: z.discriminatedUnion("type", [bearer, basic]),
    /** The resource types to export, by name; each one's table is its name in lower case. */
    resourceTypes: z
      .record(
        z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a resource type name such as Users"),
        resourceType,
      )
      .default({ Users: {}, Groups: {} })
      .describe("Resource types to export (default Users and Groups); table = name in lower case."),
    /** Resources per page (`count`); servers may send fewer. */
    pageSize: z.number().int().min(1).max(10_000).default(100).describe("Resources per page (count)."),
    /** How far behind the start of an export the next incremental one reads changes again. */
    watermarkOverlapSeconds: z
      .number()
      .int()
      .min(0)
      .default(600)
      .describe(
        "Seconds before the start of the last export from which the next incremental reads changes again.",
      ),
    timeoutSeconds,
    retries,
  })
  .superRefine((value, ctx) => {
    if (value.auth.type === "bearer") {
      checkSecretSources(value.auth, ctx, {
        env: "tokenEnv",
        file: "tokenFile",
        what: "the bearer token",
        required: true,
        path: ["auth"],
      });
    } else {
      checkSecretSources(value.auth, ctx, {
        env: "passwordEnv",
        file: "passwordFile",
        what: "the password",
        required: true,
        path: ["auth"],
      });
    }
    const tables = new Map<string, string>();
    for (const [name, type] of Object.entries(value.resourceTypes)) {
      if (type.attributes === undefined && name !== "Users" && name !== "Groups") {
        ctx.addIssue({
          code: "custom",
          path: ["resourceTypes", name, "attributes"],
          message: `list the attributes of "${name}" (defaults exist only for Users and Groups)`,
        });
      }
      (type.attributes ?? []).forEach((a, i) => {
        if (a === "id" || a === "command") {
          ctx.addIssue({
            code: "custom",
            path: ["resourceTypes", name, "attributes", i],
            message: `"${a}" is a reserved column (id is always the first column)`,
          });
        }
      });
      for (const table of [name.toLowerCase(), ...Object.keys(resourceTypeLinks(name, type))]) {
        const other = tables.get(table.toLowerCase());
        if (other !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["resourceTypes", name],
            message: `table "${table}" is also written for resource type "${other}"`,
          });
        }
        tables.set(table.toLowerCase(), name);
      }
    }
  });

export type ScimSettings = z.output<typeof scimConnectionSchema>;
type ResourceTypeSettings = z.output<typeof resourceType>;
export type ScimLink = z.output<typeof link>;

/** A resource type with its defaults applied. */
export interface ScimResourceType {
  readonly name: string;
  readonly table: string;
  readonly endpoint: string;
  readonly attributes: readonly string[];
  readonly filter: string | undefined;
  readonly links: Readonly<Record<string, ScimLink>>;
}

function resourceTypeLinks(name: string, type: ResourceTypeSettings): Readonly<Record<string, ScimLink>> {
  return type.links ?? (name === "Groups" ? DEFAULT_GROUP_LINKS : {});
}

/** The resource types of a connection, defaults applied. */
export function scimResourceTypes(settings: ScimSettings): ScimResourceType[] {
  return Object.entries(settings.resourceTypes).map(([name, type]) => ({
    name,
    table: name.toLowerCase(),
    endpoint: `/${(type.endpoint ?? name).replace(/^\//, "")}`,
    attributes:
      type.attributes ??
      (name === "Users" ? DEFAULT_USER_ATTRIBUTES : name === "Groups" ? DEFAULT_GROUP_ATTRIBUTES : []),
    filter: type.filter,
    links: resourceTypeLinks(name, type),
  }));
}

/** The tables a SCIM connection writes: per resource type, its table and its link tables. */
export function scimTables(settings: ScimSettings): string[] {
  return scimResourceTypes(settings).flatMap((t) => [t.table, ...Object.keys(t.links)]);
}

/** What the configuration reads of a SCIM connection. */
export const scimConnection: NativeConnection<ScimSettings> = {
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
};
