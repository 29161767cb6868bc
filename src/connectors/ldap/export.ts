/**
 * The LDAP / Active Directory export: `<connection>_entries.csv` (a `dn` column, then one per
 * attribute) and one association file per link (`dn;<attribute>`), complete or incremental
 * (see ../shared/object-export.ts and docs/connectors.md).
 */
import { createHash } from "node:crypto";
import {
  ConfidentialityRequiredError,
  FilterParser,
  InappropriateAuthError,
  InsufficientAccessError,
  InvalidCredentialsError,
  ResultCodeError,
  StrongAuthRequiredError,
} from "ldapts";
import { SyncupError } from "../../errors.js";
import type { NativeExportContext, NativeExportResult } from "../native.js";
import {
  describeError,
  isNetworkError,
  isTlsError,
  tlsError,
  unreachableError,
} from "../../support/failures.js";
import { exportObjects, type ObjectTableSpec } from "../shared/object-export.js";
import { withRetries } from "../../support/retry.js";
import { readSecret, readSettingFile } from "../../support/secret.js";
import { TableWriters } from "../shared/table-writers.js";
import { Directory } from "./directory.js";
import type { EntryPlan } from "./entry.js";
import type { LdapSettings } from "./schema.js";
import { ldapSource } from "./source.js";
import { binaryFormOf, parenthesized, type AttributeTypeInfo } from "./values.js";

/** LDAP result codes worth another attempt: busy (51), unavailable (52). */
const TRANSIENT_RESULT_CODES = new Set([51, 52]);

export async function ldapExport(
  settings: LdapSettings,
  ctx: NativeExportContext,
): Promise<NativeExportResult> {
  const label = `LDAP connection "${ctx.connection}"`;
  try {
    FilterParser.parseString(parenthesized(settings.filter));
  } catch (error) {
    throw new SyncupError(
      "CONFIG_INVALID",
      `${label}: the filter ${settings.filter} is not a valid LDAP filter (${describeError(error)}).`,
      { cause: error },
    );
  }
  const password = await readSecret(
    { env: settings.passwordEnv, file: settings.passwordFile },
    ctx.env,
    `${label}: the bind password`,
  );
  const ca =
    settings.tls?.caFile === undefined
      ? undefined
      : await readSettingFile(settings.tls.caFile, `${label}: tls.caFile`);
  const startedMs = Date.now();
  let attempts = 0;
  try {
    return await withRetries(
      async (attempt) => {
        attempts = attempt;
        return await exportOnce(settings, ctx, { label, password, ca, startedMs });
      },
      {
        retries: settings.retries,
        isTransient: (error) =>
          !(error instanceof SyncupError) &&
          (isNetworkError(error) ||
            (error instanceof ResultCodeError && TRANSIENT_RESULT_CODES.has(error.code))),
        onRetry: (error, attempt, delay) =>
          ctx.log?.(
            `${label}: attempt ${attempt} failed (${describeError(error)}); retrying in ${Math.round(delay / 100) / 10} s`,
          ),
      },
    );
  } catch (error) {
    throw ldapFailure(error, settings, label, attempts);
  }
}

async function exportOnce(
  settings: LdapSettings,
  ctx: NativeExportContext,
  options: { label: string; password: string | undefined; ca: string | undefined; startedMs: number },
): Promise<NativeExportResult> {
  const directory = await Directory.open({ settings, ...options });
  const writers = new TableWriters(ctx.outputDir, ctx.connection);
  try {
    const types = await directory.attributeTypes();
    if (types === undefined) {
      ctx.log?.(
        `${options.label}: the directory's schema cannot be read; every attribute is written as multi-valued.`,
      );
    }
    const plan = entryPlan(settings, types);
    const binary = binarySpellings(settings, types);
    const spec: ObjectTableSpec = {
      table: "entries",
      keyColumn: "dn",
      columns: settings.attributes,
      links: Object.entries(settings.links).map(([table, attribute]) => ({
        table,
        keyColumn: "dn",
        valueColumn: attribute,
      })),
    };
    const result = await exportObjects({
      label: options.label,
      connection: ctx.connection,
      spec,
      source: ldapSource(directory, settings, plan, binary),
      mode: ctx.mode,
      writers,
      stateDir: ctx.stateDir,
      fingerprint: fingerprint(settings),
      startedMs: options.startedMs,
      overlapMs: settings.watermarkOverlapSeconds * 1000,
      onProgress: ctx.onProgress,
      log: ctx.log,
    });
    try {
      const tables = await writers.commit();
      ctx.log?.(
        `${options.label}: ${result.objects} entries` +
          (ctx.mode === "incremental"
            ? ` (${result.read} read as changed; ${result.inserted} inserted, ${result.updated} updated, ${result.deleted} deleted)`
            : ""),
      );
      return { tables, commit: result.commit };
    } catch (error) {
      await result.abort();
      throw error;
    }
  } catch (error) {
    await writers.abort();
    throw error;
  } finally {
    await directory.close();
  }
}

function entryPlan(settings: LdapSettings, types: Map<string, AttributeTypeInfo> | undefined): EntryPlan {
  const binary = new Set(settings.binaryAttributes.map((a) => a.toLowerCase()));
  return {
    columns: settings.attributes.map((attribute) => ({
      attribute,
      singleValued: types?.get(attribute.toLowerCase())?.singleValued ?? false,
      binary: binary.has(attribute.toLowerCase()) ? binaryFormOf(attribute) : undefined,
    })),
    links: Object.entries(settings.links).map(([table, attribute]) => ({ table, attribute })),
    timestampAttribute: settings.timestampAttribute,
  };
}

/** Every spelling the server may answer a binary attribute with (ldapts matches them exactly). */
function binarySpellings(
  settings: LdapSettings,
  types: Map<string, AttributeTypeInfo> | undefined,
): string[] {
  const names = new Set<string>();
  for (const attribute of settings.binaryAttributes) {
    names.add(attribute);
    names.add(attribute.toLowerCase());
    for (const name of types?.get(attribute.toLowerCase())?.names ?? []) names.add(name);
  }
  return [...names];
}

/** The settings that shape the files: an incremental export needs the same as the last complete one. */
function fingerprint(settings: LdapSettings): string {
  const shape = {
    baseDNs: settings.baseDNs,
    scope: settings.scope,
    filter: settings.filter,
    attributes: settings.attributes,
    links: settings.links,
    binaryAttributes: settings.binaryAttributes,
    timestampAttribute: settings.timestampAttribute,
  };
  return createHash("sha256").update(JSON.stringify(shape)).digest("hex");
}

/** The SyncupError that tells the user what went wrong and what to check. */
function ldapFailure(error: unknown, settings: LdapSettings, label: string, attempts: number): unknown {
  if (error instanceof SyncupError) return error;
  const target = settings.url;
  const passwordSource =
    settings.passwordEnv !== undefined ? `$${settings.passwordEnv}` : `"${settings.passwordFile ?? ""}"`;
  if (isTlsError(error)) {
    return tlsError(
      label,
      target,
      error,
      "Check tls.caFile (the CA that signed the directory's certificate) and that the URL's host name is the certificate's.",
    );
  }
  if (isNetworkError(error)) return unreachableError(label, target, error, attempts);
  if (error instanceof InvalidCredentialsError) {
    return new SyncupError(
      "CONNECTOR_AUTH_FAILED",
      `${label}: ${target} refused the bind as "${settings.bindDN ?? ""}" (invalid credentials). Check bindDN and the password in ${passwordSource}; on Active Directory also that the account is enabled, not locked and its password not expired.`,
      { cause: error },
    );
  }
  if (error instanceof ConfidentialityRequiredError || error instanceof StrongAuthRequiredError) {
    return new SyncupError(
      "CONNECTOR_AUTH_FAILED",
      `${label}: ${target} requires an encrypted connection to bind. Use an ldaps:// URL or set tls.startTLS: true.`,
      { cause: error },
    );
  }
  if (error instanceof InappropriateAuthError) {
    return new SyncupError(
      "CONNECTOR_AUTH_FAILED",
      `${label}: ${target} refused ${settings.bindDN === undefined ? "an anonymous bind: set bindDN and a password" : `the bind as "${settings.bindDN}": check bindDN`}.`,
      { cause: error },
    );
  }
  if (error instanceof InsufficientAccessError) {
    return new SyncupError(
      "CONNECTOR_REQUEST_FAILED",
      `${label}: ${target} denies "${settings.bindDN ?? "anonymous"}" the search (insufficient access rights). Grant the account read access to baseDNs.`,
      { cause: error },
    );
  }
  return new SyncupError("CONNECTOR_REQUEST_FAILED", `${label}: ${target} failed: ${describeError(error)}.`, {
    cause: error,
  });
}
