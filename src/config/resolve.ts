/**
 * Turns a schema-valid raw configuration into the resolved `Config`: checks every
 * cross-reference, applies defaults, makes paths absolute. Pure: no file access.
 * Every problem is collected with its path, so that one check lists them all.
 */
import { isAbsolute, resolve } from "node:path";
import { Cron } from "croner";
import type {
  AssociationDef,
  AssociationMappingDef,
  Config,
  ConnectionDef,
  ConnectorDef,
  CsvTableDef,
  EntityTypeDef,
  EntityTypeMappingDef,
  JobDef,
  PropertyMappingDef,
  ServerAgentDef,
} from "./config.js";
import {
  CONNECTOR_THRESHOLD_DEFAULTS,
  type RawConfig,
  type ThresholdName,
  type Thresholds,
} from "./schema.js";
import { DEFAULT_CSV_FORMAT, resolveCsvFormat, type CsvFormat } from "../csv/format.js";
import { SyncupError } from "../errors.js";
import { nativeConnector } from "../connectors/index.js";
import { compileConverter } from "../core/convert.js";
import { ADMIN_PRINCIPAL } from "../protocol/api.js";
import { parseSecretHash } from "../protocol/secret-hash.js";

export interface ConfigProblem {
  path: (string | number)[];
  message: string;
}

const DEFAULT_MEMORY_BUDGET_MIB = 64;
const DEFAULT_MAX_RECORD_MIB = 64;
const DEFAULT_DATABASE_URL = "sqlite:./data/syncup.db";
const DEFAULT_COMMAND_TIMEOUT_SECONDS = 3600;
const DEFAULT_SERVER_PORT = 8080;
const DEFAULT_MAX_FILE_MIB = 4096;
const DEFAULT_UPLOAD_TIMEOUT_MINUTES = 60;
const DEFAULT_FAILED_AUTHENTICATIONS = 10;
const DEFAULT_RATE_WINDOW_SECONDS = 60;
const DEFAULT_AGENT_RETRIES = 8;
const DEFAULT_REQUEST_TIMEOUT_SECONDS = 300;

/** Resolves `raw`; returns the problems found (then `config` is undefined) or the frozen config. */
export function resolveConfig(
  raw: RawConfig,
  options: { file: string; baseDir: string; env: Readonly<Record<string, string | undefined>> },
): { config?: Config; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const problem = (path: (string | number)[], message: string) => problems.push({ path, message });
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(options.baseDir, p));

  // Entity model
  const entityTypes: Record<string, EntityTypeDef> = {};
  for (const [typeName, type] of Object.entries(raw.entityModel.entityTypes)) {
    const scalars: EntityTypeDef["scalars"][number][] = [];
    const navigations: EntityTypeDef["navigations"][number][] = [];
    const monoIndexes = new Map<number, string>();
    for (const [propName, prop] of Object.entries(type.properties)) {
      const path = ["entityModel", "entityTypes", typeName, "properties", propName];
      if (prop.type === "navigation") {
        if (!(prop.target in raw.entityModel.entityTypes)) {
          problem([...path, "target"], `unknown entity type "${prop.target}"`);
        }
        const index = prop.targetColumnIndex ?? null;
        const mono = index !== null && index >= 128 ? index : null;
        if (mono !== null) {
          const other = monoIndexes.get(mono);
          if (other !== undefined) {
            problem([...path, "targetColumnIndex"], `column index ${mono} is already used by "${other}"`);
          }
          monoIndexes.set(mono, propName);
        }
        navigations.push({
          name: propName,
          target: prop.target,
          monoColumnIndex: mono,
          targetColumnIndex: index,
        });
      } else {
        scalars.push({ name: propName, type: prop.type, multiValued: prop.multiValued ?? false });
      }
    }
    entityTypes[typeName] = { name: typeName, scalars, navigations };
  }

  const associations: Record<string, AssociationDef> = {};
  const usedNavigation = new Map<string, string>();
  for (const [assocName, assoc] of Object.entries(raw.entityModel.associations ?? {})) {
    const path = ["entityModel", "associations", assocName];
    const ends = (["property1", "property2"] as const).map((key) => {
      const ref = assoc[key];
      const [typeName, propName, ...rest] = ref.split(".");
      const type = typeName === undefined ? undefined : entityTypes[typeName];
      if (type === undefined || propName === undefined || rest.length > 0) {
        problem([...path, key], `"${ref}" is not "EntityType.property" of a known entity type`);
        return undefined;
      }
      const nav = type.navigations.find((n) => n.name === propName);
      if (nav === undefined) {
        problem([...path, key], `"${propName}" is not a navigation property of "${typeName}"`);
        return undefined;
      }
      const other = usedNavigation.get(ref);
      if (other !== undefined)
        problem([...path, key], `"${ref}" is already an end of association "${other}"`);
      usedNavigation.set(ref, assocName);
      return {
        entityType: type.name,
        property: nav.name,
        monoColumnIndex: nav.monoColumnIndex,
        target: nav.target,
      };
    });
    const [end1, end2] = ends;
    if (end1 === undefined || end2 === undefined) continue;
    if (end1.target !== end2.entityType) {
      problem(
        [...path, "property1"],
        `"${assoc.property1}" targets "${end1.target}", but property2 belongs to "${end2.entityType}"`,
      );
    }
    if (end2.target !== end1.entityType) {
      problem(
        [...path, "property2"],
        `"${assoc.property2}" targets "${end2.target}", but property1 belongs to "${end1.entityType}"`,
      );
    }
    if (end1.monoColumnIndex !== null && end2.monoColumnIndex !== null) {
      problem(path, "at most one end of an association can be mono-valued (target column index 128–137)");
    }
    associations[assocName] = {
      name: assocName,
      end1: { entityType: end1.entityType, property: end1.property, monoColumnIndex: end1.monoColumnIndex },
      end2: { entityType: end2.entityType, property: end2.property, monoColumnIndex: end2.monoColumnIndex },
    };
  }

  // Connectors
  const connectors: Record<string, ConnectorDef> = {};
  for (const [connectorName, rawConnector] of Object.entries(raw.connectors)) {
    const cpath = ["connectors", connectorName];
    const connections: Record<string, ConnectionDef> = {};
    const tables: Record<string, CsvTableDef> = {};
    for (const [connName, conn] of Object.entries(rawConnector.connections)) {
      const connFormat: Partial<CsvFormat> =
        conn.type === "csv" || conn.type === "command" ? pickFormat(conn) : {};
      if (conn.type === "csv") {
        connections[connName] = {
          type: "csv",
          name: connName,
          path: abs(conn.path),
          incrementalPath: abs(conn.incrementalPath ?? conn.path),
        };
      } else if (conn.type !== "command") {
        const raw = conn as { type: string };
        const native = nativeConnector(raw.type);
        if (native === undefined) {
          problem([...cpath, "connections", connName, "type"], `unknown connection type "${raw.type}"`);
          continue;
        }
        const settings: unknown = native.resolvePaths ? native.resolvePaths(raw, abs) : raw;
        connections[connName] = { type: "native", kind: raw.type, name: connName, settings };
        for (const tableName of native.tables(raw)) {
          const fullName = `${connName}_${tableName}`;
          if (fullName in tables)
            problem(
              [...cpath, "connections", connName],
              `table name "${fullName}" is used twice in this connector`,
            );
          tables[fullName] = {
            name: fullName,
            connection: connName,
            table: tableName,
            format: DEFAULT_CSV_FORMAT,
            filePattern: null,
          };
        }
        continue;
      } else {
        connections[connName] = {
          type: "command",
          name: connName,
          command: conn.command,
          cwd: abs(conn.cwd ?? "."),
          env: conn.env ?? {},
          timeoutSeconds: conn.timeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
        };
      }
      for (const [tableName, table] of Object.entries(conn.tables)) {
        const fullName = `${connName}_${tableName}`;
        const tpath = [...cpath, "connections", connName, "tables", tableName];
        if (fullName in tables) problem(tpath, `table name "${fullName}" is used twice in this connector`);
        let filePattern: RegExp | null = null;
        if ("file" in table && typeof table.file === "string") {
          try {
            filePattern = new RegExp(table.file);
          } catch (error) {
            problem([...tpath, "file"], `not a valid regular expression: ${(error as Error).message}`);
          }
        }
        const tableFormat = pickFormat(table);
        const format = checkedFormat(
          { ...connFormat, ...tableFormat },
          (key) => {
            if (key in tableFormat) return [...tpath, key];
            return key in connFormat ? [...cpath, "connections", connName, key] : tpath;
          },
          problem,
        );
        tables[fullName] = { name: fullName, connection: connName, table: tableName, format, filePattern };
      }
    }

    const knownTables = () => Object.keys(tables).join(", ") || "none";
    const entityTypeMappings: EntityTypeMappingDef[] = [];
    for (const [typeName, m] of Object.entries(rawConnector.entityTypeMappings ?? {})) {
      const mpath = [...cpath, "entityTypeMappings", typeName];
      const type = entityTypes[typeName];
      if (type === undefined) {
        problem(mpath, `"${typeName}" is not an entity type of entityModel.entityTypes`);
        continue;
      }
      if (!(m.table in tables))
        problem([...mpath, "table"], `unknown table "${m.table}" (this connector has: ${knownTables()})`);
      if (m.primaryKey === "") problem([...mpath, "primaryKey"], "the primary key column cannot be empty");
      const uniqueKeys = m.uniqueKeys ?? [];
      uniqueKeys.forEach((k, i) => {
        if (k === m.primaryKey || uniqueKeys.indexOf(k) !== i) {
          problem([...mpath, "uniqueKeys", i], `"${k}" is already a key of this mapping`);
        }
      });
      const properties: PropertyMappingDef[] = [];
      for (const [propName, pm] of Object.entries(m.properties ?? {})) {
        const scalar = type.scalars.find((s) => s.name === propName);
        if (scalar === undefined) {
          const isNav = type.navigations.some((n) => n.name === propName);
          problem(
            [...mpath, "properties", propName],
            isNav
              ? `"${propName}" is a navigation property: map it through an entity association mapping`
              : `"${propName}" is not a scalar property of "${typeName}"`,
          );
          continue;
        }
        const ppath = [...mpath, "properties", propName];
        const column = typeof pm === "string" ? pm : pm.column;
        if (column === "") problem(ppath, "the column name cannot be empty");
        const property: PropertyMappingDef = {
          property: propName,
          column,
          type: scalar.type,
          multiValued: scalar.multiValued,
          format: typeof pm === "string" ? null : (pm.format ?? null),
          separator: typeof pm === "string" ? "|" : (pm.separator ?? "|"),
        };
        try {
          // The converter the synchronization will use: a format it cannot read fails here, not there.
          compileConverter(property);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const key = message.includes("separator") ? "separator" : "format";
          problem(typeof pm === "string" ? ppath : [...ppath, key], message);
        }
        properties.push(property);
      }
      const columns = [...new Set([m.primaryKey, ...uniqueKeys, ...properties.map((p) => p.column)])];
      entityTypeMappings.push({
        kind: "entity",
        name: typeName,
        table: m.table,
        primaryKey: m.primaryKey,
        uniqueKeys,
        properties,
        columns,
        thresholds: definedThresholds(m.thresholds),
      });
    }

    const associationMappings: AssociationMappingDef[] = [];
    for (const [assocName, m] of Object.entries(rawConnector.entityAssociationMappings ?? {})) {
      const mpath = [...cpath, "entityAssociationMappings", assocName];
      const assoc = associations[assocName];
      if (assoc === undefined) {
        problem(mpath, `"${assocName}" is not an association of entityModel.associations`);
        continue;
      }
      if (assocName in (rawConnector.entityTypeMappings ?? {})) {
        problem(
          mpath,
          `"${assocName}" is also an entity type mapping of this connector: prepared file names would clash`,
        );
      }
      if (!(m.table in tables))
        problem([...mpath, "table"], `unknown table "${m.table}" (this connector has: ${knownTables()})`);
      if (m.column1 === m.column2) problem([...mpath, "column2"], "column1 and column2 must differ");
      const keys = ([1, 2] as const).map((i) => {
        const end = i === 1 ? assoc.end1 : assoc.end2;
        const mapping = entityTypeMappings.find((e) => e.name === end.entityType);
        const keyName = i === 1 ? m.key1 : m.key2;
        if (mapping === undefined) {
          problem(
            mpath,
            `end ${i} is an "${end.entityType}", which this connector has no entity type mapping for`,
          );
          return keyName ?? "";
        }
        const key = keyName ?? mapping.primaryKey;
        if (key !== mapping.primaryKey && !mapping.uniqueKeys.includes(key)) {
          problem(
            [...mpath, `key${i}`],
            `"${key}" is neither the primary key nor a unique key of mapping "${mapping.name}" (keys: ${[mapping.primaryKey, ...mapping.uniqueKeys].join(", ")})`,
          );
        }
        return key;
      });
      associationMappings.push({
        kind: "association",
        name: assocName,
        table: m.table,
        column1: m.column1,
        column2: m.column2,
        key1: keys[0] ?? "",
        key2: keys[1] ?? "",
        end1EntityType: assoc.end1.entityType,
        end2EntityType: assoc.end2.entityType,
        columns: [m.column1, m.column2],
        thresholds: definedThresholds(m.thresholds),
      });
    }
    if (entityTypeMappings.length === 0 && associationMappings.length === 0) {
      problem(cpath, "the connector has no entity type mapping: nothing would be synchronized");
    }
    connectors[connectorName] = {
      name: connectorName,
      connections,
      tables,
      entityTypeMappings,
      associationMappings,
      thresholds: { ...CONNECTOR_THRESHOLD_DEFAULTS, ...definedThresholds(rawConnector.thresholds) },
    };
  }

  const jobs: Record<string, JobDef> = {};
  for (const [jobName, job] of Object.entries(raw.jobs ?? {})) {
    const jpath = ["jobs", jobName];
    if (!(job.connector in raw.connectors))
      problem([...jpath, "connector"], `unknown connector "${job.connector}"`);
    if (job.timeZone !== undefined && !isTimeZone(job.timeZone)) {
      problem(
        [...jpath, "timeZone"],
        `unknown time zone "${job.timeZone}" (use an IANA name such as Europe/Paris)`,
      );
    }
    if (job.schedule !== undefined) {
      const fields = job.schedule.trim().split(/\s+/).length;
      const invalid =
        fields < 5 || fields > 6
          ? `expected a cron expression of 5 or 6 fields, found ${fields}`
          : cronProblem(
              job.schedule,
              job.timeZone !== undefined && isTimeZone(job.timeZone) ? job.timeZone : "UTC",
            );
      if (invalid !== undefined) problem([...jpath, "schedule"], invalid);
    }
    jobs[jobName] = {
      name: jobName,
      connector: job.connector,
      mode: job.mode,
      schedule: job.schedule ?? null,
      timeZone: job.timeZone ?? "UTC",
      tasks: job.tasks ?? ["export", "prepare", "synchronize"],
    };
  }

  const agents: Record<string, ServerAgentDef> = {};
  for (const [agentId, agent] of Object.entries(raw.server?.agents ?? {})) {
    const apath = ["server", "agents", agentId];
    if (agentId === ADMIN_PRINCIPAL) problem(apath, `"${ADMIN_PRINCIPAL}" is reserved for the administrator`);
    if (parseSecretHash(agent.secretHash) === undefined) {
      problem([...apath, "secretHash"], "not a secret hash: make one with `syncup secret hash`");
    }
    agent.connectors.forEach((c, i) => {
      if (!(c in raw.connectors)) problem([...apath, "connectors", i], `unknown connector "${c}"`);
    });
    agents[agentId] = { id: agentId, secretHash: agent.secretHash, connectors: agent.connectors };
  }
  const adminTokenHash = raw.server?.adminTokenHash ?? null;
  if (adminTokenHash !== null && parseSecretHash(adminTokenHash) === undefined) {
    problem(["server", "adminTokenHash"], "not a secret hash: make one with `syncup secret hash`");
  }
  const rawAgent = raw.agent;
  rawAgent?.connectors?.forEach((c, i) => {
    if (!(c in raw.connectors)) problem(["agent", "connectors", i], `unknown connector "${c}"`);
  });

  const fromEnv = options.env["SYNCUP_DATABASE_URL"];
  const databaseUrl =
    fromEnv !== undefined && fromEnv !== "" ? fromEnv : (raw.database?.url ?? DEFAULT_DATABASE_URL);
  const urlProblem = databaseUrlProblem(databaseUrl);
  if (urlProblem !== undefined) {
    problem(
      ["database", "url"],
      `${urlProblem}${databaseUrl === fromEnv ? " (from $SYNCUP_DATABASE_URL)" : ""}`,
    );
  }

  if (problems.length > 0) return { problems };

  const workDir = abs(raw.workDir ?? "./work");
  const config: Config = {
    file: options.file,
    workDir,
    exportDir: raw.exportDir === undefined ? resolve(workDir, "export") : abs(raw.exportDir),
    databaseUrl: resolveSqliteUrl(databaseUrl, options.baseDir),
    prepare: {
      memoryBudgetBytes: (raw.prepare?.memoryBudgetMiB ?? DEFAULT_MEMORY_BUDGET_MIB) * 1024 * 1024,
      maxRecordChars: (raw.prepare?.maxRecordMiB ?? DEFAULT_MAX_RECORD_MIB) * 1024 * 1024,
      tempDir: abs(raw.prepare?.tempDir ?? resolve(workDir, "tmp")),
    },
    entityTypes,
    associations,
    connectors,
    jobs,
    server: {
      host: raw.server?.host ?? "127.0.0.1",
      port: raw.server?.port ?? DEFAULT_SERVER_PORT,
      batchDir: abs(raw.server?.batchDir ?? resolve(workDir, "batches")),
      adminTokenHash,
      maxFileBytes: (raw.server?.maxFileMiB ?? DEFAULT_MAX_FILE_MIB) * 1024 * 1024,
      uploadTimeoutMs: (raw.server?.uploadTimeoutMinutes ?? DEFAULT_UPLOAD_TIMEOUT_MINUTES) * 60_000,
      rateLimit: {
        failedAuthentications: raw.server?.rateLimit?.failedAuthentications ?? DEFAULT_FAILED_AUTHENTICATIONS,
        windowMs: (raw.server?.rateLimit?.windowSeconds ?? DEFAULT_RATE_WINDOW_SECONDS) * 1000,
      },
      agents,
    },
    agent:
      rawAgent === undefined
        ? null
        : {
            id: rawAgent.id,
            serverUrl: rawAgent.server.replace(/\/+$/, ""),
            secret:
              rawAgent.secretEnv !== undefined
                ? { env: rawAgent.secretEnv }
                : { file: abs(rawAgent.secretFile ?? "") },
            connectors: rawAgent.connectors ?? Object.keys(raw.connectors),
            onDrift: rawAgent.onDrift ?? "complete",
            retries: rawAgent.retries ?? DEFAULT_AGENT_RETRIES,
            requestTimeoutMs: (rawAgent.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000,
          },
  };
  return { config: deepFreeze(config), problems };
}

function definedThresholds(raw: Thresholds | undefined): Partial<Record<ThresholdName, number>> {
  const out: Partial<Record<ThresholdName, number>> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (value !== undefined) out[key as ThresholdName] = value;
  }
  return out;
}

/**
 * The CSV format of a table, checked by the CSV reader's own rules (`resolveCsvFormat`), so that
 * a format the reader would refuse is refused here, each problem at the key that set it.
 */
function checkedFormat(
  format: Partial<CsvFormat>,
  pathOf: (key: keyof CsvFormat) => (string | number)[],
  problem: (path: (string | number)[], message: string) => void,
): CsvFormat {
  try {
    return resolveCsvFormat(format);
  } catch (error) {
    if (!(error instanceof SyncupError)) throw error;
    for (const detail of error.details) {
      const key = FORMAT_KEYS.find((k) => detail.startsWith(`${k} `)) ?? "separator";
      problem(pathOf(key), detail);
    }
    return { ...DEFAULT_CSV_FORMAT, ...format };
  }
}

const FORMAT_KEYS = ["encoding", "separator", "quote", "skipLines", "trim"] as const;

function pickFormat(source: Partial<Record<keyof CsvFormat, unknown>>): Partial<CsvFormat> {
  const out: Partial<CsvFormat> = {};
  for (const key of FORMAT_KEYS) {
    if (source[key] !== undefined) (out as Record<string, unknown>)[key] = source[key];
  }
  return out;
}

/** Why croner, the scheduler, would refuse `schedule` (a minute of 99, a month of 13), or undefined. */
function cronProblem(schedule: string, timeZone: string): string | undefined {
  try {
    new Cron(schedule, { timezone: timeZone, paused: true }).stop();
    return undefined;
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^CronPattern: /, "");
    return `not a valid cron expression: ${reason}`;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the repository could not be opened from `url`, or undefined: the forms `openStore`
 * accepts (`sqlite:<path>`, `sqlite::memory:`, `postgres://…`, `postgresql://…`), checked
 * here so that `config check` refuses what every command would.
 */
function databaseUrlProblem(url: string): string | undefined {
  const shown = url.replace(/\/\/[^@/]*@/, "//…@");
  if (url.startsWith("sqlite:")) {
    return url === "sqlite:" ? `"${url}" names no file: use sqlite:<path> or sqlite::memory:` : undefined;
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    return URL.canParse(url) ? undefined : `"${shown}" is not a valid PostgreSQL URL`;
  }
  return `unsupported database URL "${shown}": use sqlite:<path>, sqlite::memory: or postgres://user@host/database`;
}

/** A relative `sqlite:` path is relative to the configuration file's folder. */
function resolveSqliteUrl(url: string, baseDir: string): string {
  if (!url.startsWith("sqlite:")) return url;
  const path = url.slice("sqlite:".length);
  if (path === ":memory:" || isAbsolute(path)) return url;
  return `sqlite:${resolve(baseDir, path)}`;
}

/** Freezes an object graph; the configuration is never changed once validated. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value) && !(value instanceof RegExp)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
