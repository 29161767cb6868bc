/**
 * Turns a schema-valid raw configuration into the resolved `Config`: checks every
 * cross-reference, applies defaults, makes paths absolute. Pure: no file access.
 * Every problem is collected with its path, so that one check lists them all.
 *
 * One step per section, in the order of their problems: the entity model (`resolve-model.ts`),
 * each connector's connections and tables (`resolve-connections.ts`) and mappings
 * (`resolve-mappings.ts`), the jobs (`resolve-jobs.ts`), the server, the agent and the database
 * (`resolve-server.ts`).
 */
import { resolve } from "node:path";
import type { AssociationDef, Config, ConnectorDef, EntityTypeDef } from "./config.js";
import { resolveChangeFeed } from "./resolve-change-feed.js";
import { resolveConnections } from "./resolve-connections.js";
import { resolveJobs } from "./resolve-jobs.js";
import {
  definedThresholds,
  resolveAssociationMappings,
  resolveEntityTypeMappings,
} from "./resolve-mappings.js";
import { resolveAssociations, resolveEntityTypes } from "./resolve-model.js";
import {
  agentDef,
  checkAgent,
  resolveAdminTokenHash,
  resolveDatabaseUrl,
  resolveServerAdmins,
  resolveServerAgents,
  resolveSqliteUrl,
  serverDef,
} from "./resolve-server.js";
import { resolving, type ConfigProblem, type RawConnector, type Resolving } from "./resolving.js";
import { CONNECTOR_THRESHOLD_DEFAULTS, type RawConfig } from "./schema.js";

export type { ConfigProblem } from "./resolving.js";

const DEFAULT_MEMORY_BUDGET_MIB = 64;
const DEFAULT_MAX_RECORD_MIB = 64;

/** Resolves `raw`; returns the problems found (then `config` is undefined) or the frozen config. */
export function resolveConfig(
  raw: RawConfig,
  options: { file: string; baseDir: string; env: Readonly<Record<string, string | undefined>> },
): { config?: Config; problems: ConfigProblem[] } {
  const r = resolving(options.baseDir);
  const entityTypes = resolveEntityTypes(raw.entityModel, r);
  const associations = resolveAssociations(raw.entityModel, entityTypes, r);
  const connectors: Record<string, ConnectorDef> = {};
  for (const [name, rawConnector] of Object.entries(raw.connectors)) {
    connectors[name] = resolveConnector(name, rawConnector, entityTypes, associations, r);
  }
  const jobs = resolveJobs(raw, r);
  const agents = resolveServerAgents(raw, r);
  const adminTokenHash = resolveAdminTokenHash(raw, r);
  const admins = resolveServerAdmins(raw, adminTokenHash, r);
  checkAgent(raw, r);
  const databaseUrl = resolveDatabaseUrl(raw, options.env, r);
  const changeFeed = resolveChangeFeed(raw, r);
  if (r.problems.length > 0) return { problems: r.problems };

  const workDir = r.abs(raw.workDir ?? "./work");
  const config: Config = {
    file: options.file,
    workDir,
    exportDir: raw.exportDir === undefined ? resolve(workDir, "export") : r.abs(raw.exportDir),
    databaseUrl: resolveSqliteUrl(databaseUrl, options.baseDir),
    prepare: {
      memoryBudgetBytes: (raw.prepare?.memoryBudgetMiB ?? DEFAULT_MEMORY_BUDGET_MIB) * 1024 * 1024,
      maxRecordChars: (raw.prepare?.maxRecordMiB ?? DEFAULT_MAX_RECORD_MIB) * 1024 * 1024,
      tempDir: r.abs(raw.prepare?.tempDir ?? resolve(workDir, "tmp")),
    },
    entityTypes,
    associations,
    connectors,
    jobs,
    server: serverDef(raw, workDir, agents, admins, adminTokenHash, changeFeed, r),
    agent: agentDef(raw, r),
  };
  return { config: deepFreeze(config), problems: r.problems };
}

/** One connector: its connections and tables, then its mappings, which name those tables. */
function resolveConnector(
  name: string,
  rawConnector: RawConnector,
  entityTypes: Readonly<Record<string, EntityTypeDef>>,
  associations: Readonly<Record<string, AssociationDef>>,
  r: Resolving,
): ConnectorDef {
  const cpath = ["connectors", name];
  const { connections, tables } = resolveConnections(cpath, rawConnector, r);
  const entityTypeMappings = resolveEntityTypeMappings(cpath, rawConnector, entityTypes, tables, r);
  const associationMappings = resolveAssociationMappings(
    cpath,
    rawConnector,
    associations,
    tables,
    entityTypeMappings,
    r,
  );
  if (entityTypeMappings.length === 0 && associationMappings.length === 0) {
    r.problem(cpath, "the connector has no entity type mapping: nothing would be synchronized");
  }
  return {
    name,
    connections,
    tables,
    entityTypeMappings,
    associationMappings,
    thresholds: { ...CONNECTOR_THRESHOLD_DEFAULTS, ...definedThresholds(rawConnector.thresholds) },
    review: {
      approvers: rawConnector.review?.approvers ?? 1,
      previewHours: rawConnector.review?.previewHours ?? DEFAULT_PREVIEW_HOURS,
    },
  };
}

/** How long a dry run's staged changes are kept for review, by default. */
export const DEFAULT_PREVIEW_HOURS = 24;

/** Freezes an object graph; the configuration is never changed once validated. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value) && !(value instanceof RegExp)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
