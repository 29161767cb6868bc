/** The settings of an LDAP / Active Directory connection (`type: ldap`). */
import { z } from "zod";
import type { NativeConnection } from "../native.js";
import {
  absoluteFiles,
  checkSecretSources,
  retries,
  tableName,
  timeoutSeconds,
} from "../shared/schema-parts.js";

/** An attribute description as LDAP writes it: a name or OID, with options (`userCertificate;binary`). */
const attributeName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$|^\d+(\.\d+)+$/, "not an LDAP attribute name");

const RESERVED_COLUMNS = ["dn", "command"];

export const ldapConnectionSchema = z
  .strictObject({
    type: z.literal("ldap"),
    /** `ldap://host[:port]` or `ldaps://host[:port]`. */
    url: z
      .string()
      .regex(/^ldaps?:\/\/[^/?#\s]+\/?$/i, "use ldap://host[:port] or ldaps://host[:port]")
      .describe("ldap://host[:port] or ldaps://host[:port] (no base DN: see baseDNs)."),
    /** The DN (or, for Active Directory, `user@domain`) to bind as; anonymous when absent. */
    bindDN: z
      .string()
      .min(1)
      .optional()
      .describe("DN (or AD user@domain) to bind as; anonymous when absent."),
    /** The name of the environment variable holding the bind password. */
    passwordEnv: z.string().min(1).optional().describe("Environment variable holding the bind password."),
    /** The path of a file holding the bind password (relative to the configuration file). */
    passwordFile: z.string().min(1).optional().describe("File holding the bind password."),
    /** TLS: a CA to trust, StartTLS on an ldap:// URL, and whether to check the server's certificate. */
    tls: z
      .strictObject({
        /** A PEM file of the CA certificate(s) to trust in addition to the system's. */
        caFile: z.string().min(1).optional().describe("PEM file of the CA certificate(s) to trust."),
        /** Upgrade an ldap:// connection with the StartTLS operation before binding. */
        startTLS: z
          .boolean()
          .default(false)
          .describe("Upgrade an ldap:// connection with StartTLS before binding."),
        /** Refuse a server certificate that is not trusted or not for this host (default true). */
        rejectUnauthorized: z
          .boolean()
          .default(true)
          .describe("Refuse an untrusted certificate (default true; false only for tests)."),
      })
      .optional(),
    /** The subtrees to export; an entry under two of them is written once. */
    baseDNs: z.array(z.string().min(1)).min(1).describe("Subtrees to export."),
    /** `sub` (default): the base entries and everything below; `one`: their children only. */
    scope: z.enum(["sub", "one"]).default("sub"),
    /** An LDAP filter (RFC 4515) selecting the entries; default every entry. */
    filter: z
      .string()
      .min(1)
      .default("(objectClass=*)")
      .describe("LDAP filter (RFC 4515); default (objectClass=*)."),
    /** The attributes written as columns of `<connection>_entries.csv`, after `dn`. */
    attributes: z
      .array(attributeName)
      .describe("Columns of <connection>_entries.csv after dn, one per attribute."),
    /** Association files: `{ <table>: <DN-valued attribute> }` → `<connection>_<table>.csv` with columns `dn;<attribute>`. */
    links: z
      .record(tableName, attributeName)
      .default({})
      .describe(
        "{ table: attribute } → <connection>_<table>.csv with columns dn;<attribute>, one row per value.",
      ),
    /** Attributes read as bytes: objectGUID → GUID text, objectSid → S-1-… text, others → base64. */
    binaryAttributes: z
      .array(attributeName)
      .default(["objectGUID", "objectSid"])
      .describe(
        "Attributes read as bytes: *GUID → GUID text, objectSid/sIDHistory → S-1-… text, others base64.",
      ),
    /** Entries per page of the paged results control (RFC 2696). */
    pageSize: z.number().int().min(1).max(100_000).default(500).describe("Entries per page (paged results)."),
    /** The attribute holding each entry's last change time, for incremental exports. */
    timestampAttribute: attributeName
      .default("modifyTimestamp")
      .describe("Generalized-time attribute of the last change (modifyTimestamp; whenChanged on AD)."),
    /** How far behind the start of an export the next incremental one starts reading changes. */
    watermarkOverlapSeconds: z
      .number()
      .int()
      .min(0)
      .default(600)
      .describe(
        "Seconds before the start of the last export from which the next incremental reads changes again (clock skew, changes during the export); default 600.",
      ),
    timeoutSeconds,
    retries,
  })
  .superRefine((value, ctx) => {
    checkSecretSources(value, ctx, {
      env: "passwordEnv",
      file: "passwordFile",
      what: "the bind password",
      required: value.bindDN !== undefined,
    });
    if (value.bindDN === undefined && (value.passwordEnv ?? value.passwordFile) !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["bindDN"],
        message: "a password is set but no bindDN to bind as",
      });
    }
    if (value.tls?.startTLS === true && /^ldaps:/i.test(value.url)) {
      ctx.addIssue({
        code: "custom",
        path: ["tls", "startTLS"],
        message: "StartTLS upgrades an ldap:// connection; an ldaps:// one is already encrypted",
      });
    }
    const seen = new Set<string>();
    value.attributes.forEach((attribute, i) => {
      const lower = attribute.toLowerCase();
      if (RESERVED_COLUMNS.includes(lower)) {
        ctx.addIssue({
          code: "custom",
          path: ["attributes", i],
          message: `"${attribute}" is a reserved column name`,
        });
      } else if (seen.has(lower)) {
        ctx.addIssue({ code: "custom", path: ["attributes", i], message: `"${attribute}" is listed twice` });
      }
      seen.add(lower);
    });
    if ("entries" in value.links) {
      ctx.addIssue({
        code: "custom",
        path: ["links", "entries"],
        message: `"entries" is the entries table's name`,
      });
    }
  });

export type LdapSettings = z.output<typeof ldapConnectionSchema>;

/** The tables an LDAP connection writes: `entries`, then one per link. */
export function ldapTables(settings: LdapSettings): string[] {
  return ["entries", ...Object.keys(settings.links)];
}

/** What the configuration reads of an LDAP connection. */
export const ldapConnection: NativeConnection<LdapSettings> = {
  type: "ldap",
  schema: ldapConnectionSchema,
  tables: ldapTables,
  resolvePaths: absoluteFiles,
};
