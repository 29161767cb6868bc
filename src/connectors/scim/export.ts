/**
 * The SCIM 2.0 export: per resource type, `<connection>_<type>.csv` (an `id` column, then one
 * per attribute path) and its link files (`<connection>_groupmembers.csv`: `groupId;memberId`
 * by default), complete or incremental (see ../shared/object-export.ts and docs/connectors.md).
 */
import { createHash } from "node:crypto";
import type { NativeExportContext, NativeExportResult } from "../native.js";
import { exportObjects, type ObjectExportResult } from "../shared/object-export.js";
import { readSecret } from "../../support/secret.js";
import { TableWriters } from "../shared/table-writers.js";
import { ScimClient } from "./client.js";
import { scimResourceTypes, type ScimResourceType, type ScimSettings } from "./schema.js";
import { scimSource } from "./source.js";

export async function scimExport(
  settings: ScimSettings,
  ctx: NativeExportContext,
): Promise<NativeExportResult> {
  const label = `SCIM connection "${ctx.connection}"`;
  const { authorization, hint } = await credentials(settings, ctx, label);
  const client = new ScimClient({
    baseUrl: settings.baseUrl,
    label,
    authorization,
    credentialsHint: hint,
    timeoutSeconds: settings.timeoutSeconds,
    retries: settings.retries,
    log: ctx.log,
  });
  const startedMs = Date.now();
  const types = scimResourceTypes(settings);
  const filtering = ctx.mode === "incremental" ? await supportsFiltering(client, label, ctx) : false;
  const writers = new TableWriters(ctx.outputDir, ctx.connection);
  const results: ObjectExportResult[] = [];
  try {
    for (const type of types) {
      const result = await exportObjects({
        label,
        connection: ctx.connection,
        spec: {
          table: type.table,
          keyColumn: "id",
          columns: type.attributes,
          links: Object.entries(type.links).map(([table, link]) => ({
            table,
            keyColumn: link.keyColumn,
            valueColumn: link.valueColumn,
          })),
        },
        source: scimSource(client, type, { pageSize: settings.pageSize, filtering, label, log: ctx.log }),
        mode: ctx.mode,
        writers,
        stateDir: ctx.stateDir,
        fingerprint: fingerprint(type),
        startedMs,
        overlapMs: settings.watermarkOverlapSeconds * 1000,
        onProgress: ctx.onProgress,
        log: ctx.log,
      });
      results.push(result);
      ctx.log?.(
        `${label}: ${type.name}: ${result.objects} resources` +
          (ctx.mode === "incremental"
            ? ` (${result.read} read as changed; ${result.inserted} inserted, ${result.updated} updated, ${result.deleted} deleted)`
            : ""),
      );
    }
    const tables = await writers.commit();
    return {
      tables,
      commit: async () => {
        for (const result of results) await result.commit();
      },
    };
  } catch (error) {
    await writers.abort();
    for (const result of results) await result.abort();
    throw error;
  }
}

async function credentials(
  settings: ScimSettings,
  ctx: NativeExportContext,
  label: string,
): Promise<{ authorization: string; hint: string }> {
  const { auth } = settings;
  if (auth.type === "bearer") {
    const token = await readSecret(
      { env: auth.tokenEnv, file: auth.tokenFile },
      ctx.env,
      `${label}: the bearer token`,
    );
    return {
      authorization: `Bearer ${token ?? ""}`,
      hint: auth.tokenEnv !== undefined ? `$${auth.tokenEnv}` : `"${auth.tokenFile ?? ""}"`,
    };
  }
  const password = await readSecret(
    { env: auth.passwordEnv, file: auth.passwordFile },
    ctx.env,
    `${label}: the password of "${auth.username}"`,
  );
  return {
    authorization: `Basic ${Buffer.from(`${auth.username}:${password ?? ""}`, "utf8").toString("base64")}`,
    hint: `username "${auth.username}" and ${auth.passwordEnv !== undefined ? `$${auth.passwordEnv}` : `"${auth.passwordFile ?? ""}"`}`,
  };
}

/** Whether the server says it filters (RFC 7643 5); assumed when it publishes no configuration. */
async function supportsFiltering(
  client: ScimClient,
  label: string,
  ctx: NativeExportContext,
): Promise<boolean> {
  const config = await client.get("/ServiceProviderConfig", {}, true);
  const filter = (config as { filter?: { supported?: unknown } } | undefined)?.filter;
  if (filter?.supported === false) {
    ctx.log?.(
      `${label}: the server does not filter; an incremental export reads every resource and keeps the changed ones.`,
    );
    return false;
  }
  return true;
}

/** The settings that shape a resource type's files: an incremental export needs the same as the last complete one. */
function fingerprint(type: ScimResourceType): string {
  const shape = {
    endpoint: type.endpoint,
    attributes: type.attributes,
    filter: type.filter ?? null,
    links: type.links,
  };
  return createHash("sha256").update(JSON.stringify(shape)).digest("hex");
}
