/**
 * The validated configuration as the rest of syncup sees it: defaults applied, paths absolute,
 * cross-references resolved, frozen. Built by `loadConfig` (`load.ts`) and never changed after.
 */
import type { CsvFormat } from "../csv/format.js";
import type { ScalarType } from "../core/convert.js";
import type { AssociationMappingDef, EntityTypeMappingDef, MappingDef } from "../core/mapping.js";
import type { ThresholdName } from "../core/thresholds.js";
import type { AdminRole } from "../protocol/api.js";
import type { Mode } from "../protocol/mode.js";

/** The mappings are core's plain data (`core/mapping.ts`): translation and keys work on them. */
export type {
  AssociationMappingDef,
  EntityTypeMappingDef,
  MappingDef,
  PropertyMappingDef,
} from "../core/mapping.js";

/** The synchronization modes are the protocol's (`protocol/mode.ts`). */
export type { Mode } from "../protocol/mode.js";

export interface ScalarPropertyDef {
  readonly name: string;
  readonly type: ScalarType;
  readonly multiValued: boolean;
}

export interface NavigationPropertyDef {
  readonly name: string;
  readonly target: string;
  /** 128–137 for a mono-valued property stored in UR_Resources, otherwise null (multi-valued). */
  readonly monoColumnIndex: number | null;
  /** The configured index (-1, 0–127) of a multi-valued property, or null when unset. */
  readonly targetColumnIndex: number | null;
}

export interface EntityTypeDef {
  readonly name: string;
  readonly scalars: readonly ScalarPropertyDef[];
  readonly navigations: readonly NavigationPropertyDef[];
}

export interface AssociationEndDef {
  readonly entityType: string;
  readonly property: string;
  /** 128–137 when this end's property is mono-valued. */
  readonly monoColumnIndex: number | null;
}

export interface AssociationDef {
  readonly name: string;
  readonly end1: AssociationEndDef;
  readonly end2: AssociationEndDef;
}

export interface CsvTableDef {
  /** `<connection>_<table>`: the name of the exported file without `.csv`. */
  readonly name: string;
  readonly connection: string;
  readonly table: string;
  /** Format of the file as the managed system writes it. */
  readonly format: CsvFormat;
  /** For csv connections: the file-name pattern. */
  readonly filePattern: RegExp | null;
}

export interface CsvConnectionDef {
  readonly type: "csv";
  readonly name: string;
  readonly path: string;
  readonly incrementalPath: string;
}

export interface CommandConnectionDef {
  readonly type: "command";
  readonly name: string;
  readonly command: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
}

/** A native connector's connection (LDAP, SCIM, SQL…): its settings as its own schema gives them. */
export interface NativeConnectionDef {
  readonly type: "native";
  /** The connection's `type` in syncup.yaml, which selects the connector. */
  readonly kind: string;
  readonly name: string;
  readonly settings: unknown;
}

export type ConnectionDef = CsvConnectionDef | CommandConnectionDef | NativeConnectionDef;

export interface ConnectorDef {
  readonly name: string;
  readonly connections: Readonly<Record<string, ConnectionDef>>;
  readonly tables: Readonly<Record<string, CsvTableDef>>;
  readonly entityTypeMappings: readonly EntityTypeMappingDef[];
  readonly associationMappings: readonly AssociationMappingDef[];
  /** Connector-level thresholds with the defaults applied. */
  readonly thresholds: Readonly<Record<ThresholdName, number>>;
  /** Review and decision: approvers a decided batch needs (1, or 2 for the four-eyes rule), hours a preview is kept. */
  readonly review: { readonly approvers: 1 | 2; readonly previewHours: number };
}

export interface JobDef {
  readonly name: string;
  readonly connector: string;
  readonly mode: Mode;
  readonly schedule: string | null;
  readonly timeZone: string;
  readonly tasks: readonly ("export" | "prepare" | "synchronize")[];
}

export interface ServerAgentDef {
  readonly id: string;
  readonly secretHash: string;
  readonly connectors: readonly string[];
}

export interface ServerAdminDef {
  readonly id: string;
  readonly tokenHash: string;
  readonly role: AdminRole;
}

export interface ServerDef {
  readonly host: string;
  readonly port: number;
  readonly batchDir: string;
  readonly adminTokenHash: string | null;
  /** Every administrator by name: `server.admins`, and `admin` (an approver) for `adminTokenHash`. */
  readonly admins: Readonly<Record<string, ServerAdminDef>>;
  readonly maxFileBytes: number;
  readonly uploadTimeoutMs: number;
  /** A console session's lifetime from sign-in, and how long it may go unused. */
  readonly session: { readonly lifetimeMs: number; readonly idleMs: number };
  /** Failed secret checks allowed per client address and per agent id within a window. */
  readonly rateLimit: { readonly failedAuthentications: number; readonly windowMs: number };
  readonly agents: Readonly<Record<string, ServerAgentDef>>;
  /** The change feed; null when `server.changeFeed` is not set (applies write no events). */
  readonly changeFeed: ChangeFeedDef | null;
}

/** `server.changeFeed`, defaults applied. */
export interface ChangeFeedDef {
  /** Events older than this are pruned. */
  readonly retentionMs: number;
  /** At most this many events are kept; null: no limit. */
  readonly retentionRows: number | null;
  readonly sinks: readonly FeedSinkDef[];
}

/** Which events a sink receives: null lets every value through. */
export interface FeedFilterDef {
  readonly connectors: readonly string[] | null;
  /** Entity types of resource events, associations of link and reference events. */
  readonly entityTypes: readonly string[] | null;
  readonly operations: readonly ("insert" | "update" | "delete")[] | null;
}

interface FeedSinkBase {
  readonly name: string;
  readonly filter: FeedFilterDef;
  readonly maxAttempts: number;
  readonly batchSize: number;
  /** The wait after a first failure, doubled at each further one (up to 5 minutes). */
  readonly retryMs: number;
}

/** Where a secret is read from: an environment variable's name or a file's path. */
export interface SecretSourceDef {
  readonly env?: string;
  readonly file?: string;
}

export type FeedSinkDef =
  | (FeedSinkBase & {
      readonly type: "webhook";
      readonly url: string;
      readonly secret: SecretSourceDef;
      readonly timeoutMs: number;
    })
  | (FeedSinkBase & {
      readonly type: "nats";
      readonly servers: readonly string[];
      readonly stream: string;
      readonly subjectPrefix: string;
      readonly user: string | null;
      readonly password: SecretSourceDef | null;
      readonly token: SecretSourceDef | null;
    })
  | (FeedSinkBase & {
      readonly type: "rabbitmq";
      readonly url: string;
      readonly exchange: string;
      readonly routingPrefix: string;
      readonly password: SecretSourceDef | null;
    });

export interface AgentDef {
  readonly id: string;
  /** The server's base URL, without a trailing slash. */
  readonly serverUrl: string;
  readonly secret: { readonly env?: string; readonly file?: string };
  /** Connectors whose jobs this agent runs. */
  readonly connectors: readonly string[];
  readonly onDrift: "complete" | "stop";
  readonly retries: number;
  readonly requestTimeoutMs: number;
}

export interface Config {
  /** Absolute path of the configuration file. */
  readonly file: string;
  readonly workDir: string;
  readonly exportDir: string;
  readonly databaseUrl: string;
  readonly prepare: {
    readonly memoryBudgetBytes: number;
    /** Longest record of a source file, in characters (with its line end). */
    readonly maxRecordChars: number;
    readonly tempDir: string;
  };
  readonly entityTypes: Readonly<Record<string, EntityTypeDef>>;
  readonly associations: Readonly<Record<string, AssociationDef>>;
  readonly connectors: Readonly<Record<string, ConnectorDef>>;
  readonly jobs: Readonly<Record<string, JobDef>>;
  /** `syncup server`'s settings, defaults applied. */
  readonly server: ServerDef;
  /** `syncup agent`'s settings; null when the configuration has no `agent` section. */
  readonly agent: AgentDef | null;
}

/** Every mapping of a connector, entity type mappings first. */
export function mappingsOf(connector: ConnectorDef): readonly MappingDef[] {
  return [...connector.entityTypeMappings, ...connector.associationMappings];
}
