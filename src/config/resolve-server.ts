/**
 * The sections of a configuration about processes and where they keep things: the database
 * URL (`$SYNCUP_DATABASE_URL` first), the server's (agents, administrators, limits) and the
 * agent's. Checked first (`check*`, problems only), built once the whole configuration is
 * valid (`*Def`).
 */
import { isAbsolute, resolve } from "node:path";
import { ADMIN_PRINCIPAL } from "../protocol/api.js";
import { parseSecretHash } from "../protocol/secret-hash.js";
import type { AgentDef, ChangeFeedDef, ServerAdminDef, ServerAgentDef, ServerDef } from "./config.js";
import type { Resolving } from "./resolving.js";
import type { RawConfig } from "./schema.js";

const DEFAULT_DATABASE_URL = "sqlite:./data/syncup.db";
const DEFAULT_SERVER_PORT = 8080;
const DEFAULT_MAX_FILE_MIB = 4096;
const DEFAULT_UPLOAD_TIMEOUT_MINUTES = 60;
const DEFAULT_SESSION_MINUTES = 480;
const DEFAULT_SESSION_IDLE_MINUTES = 60;
const DEFAULT_FAILED_AUTHENTICATIONS = 10;
const DEFAULT_RATE_WINDOW_SECONDS = 60;
const DEFAULT_AGENT_RETRIES = 8;
const DEFAULT_REQUEST_TIMEOUT_SECONDS = 300;

/** The server's agents: no id "admin", a secret hash each, known connectors. */
export function resolveServerAgents(raw: RawConfig, r: Resolving): Record<string, ServerAgentDef> {
  const agents: Record<string, ServerAgentDef> = {};
  for (const [agentId, agent] of Object.entries(raw.server?.agents ?? {})) {
    const apath = ["server", "agents", agentId];
    if (agentId === ADMIN_PRINCIPAL)
      r.problem(apath, `"${ADMIN_PRINCIPAL}" is reserved for the administrator`);
    if (parseSecretHash(agent.secretHash) === undefined) {
      r.problem([...apath, "secretHash"], "not a secret hash: make one with `syncup secret hash`");
    }
    agent.connectors.forEach((c, i) => {
      if (!(c in raw.connectors)) r.problem([...apath, "connectors", i], `unknown connector "${c}"`);
    });
    agents[agentId] = { id: agentId, secretHash: agent.secretHash, connectors: agent.connectors };
  }
  return agents;
}

/** The administrator's token hash, or null when the server has none. */
export function resolveAdminTokenHash(raw: RawConfig, r: Resolving): string | null {
  const adminTokenHash = raw.server?.adminTokenHash ?? null;
  if (adminTokenHash !== null && parseSecretHash(adminTokenHash) === undefined) {
    r.problem(["server", "adminTokenHash"], "not a secret hash: make one with `syncup secret hash`");
  }
  return adminTokenHash;
}

/**
 * Every administrator by name: `server.admins`, each with a secret hash and a name no agent
 * has, and the approver `admin` of `adminTokenHash` (which `server.admins` may then not name).
 */
export function resolveServerAdmins(
  raw: RawConfig,
  adminTokenHash: string | null,
  r: Resolving,
): Record<string, ServerAdminDef> {
  const admins: Record<string, ServerAdminDef> = {};
  if (adminTokenHash !== null) {
    admins[ADMIN_PRINCIPAL] = { id: ADMIN_PRINCIPAL, tokenHash: adminTokenHash, role: "approver" };
  }
  for (const [adminId, admin] of Object.entries(raw.server?.admins ?? {})) {
    const apath = ["server", "admins", adminId];
    if (adminId === ADMIN_PRINCIPAL && adminTokenHash !== null) {
      r.problem(apath, `"${ADMIN_PRINCIPAL}" is server.adminTokenHash's approver: remove one of the two`);
    }
    if (Object.hasOwn(raw.server?.agents ?? {}, adminId)) {
      r.problem(
        apath,
        `"${adminId}" is also an agent's id (server.agents): give the administrator another name`,
      );
    }
    if (parseSecretHash(admin.tokenHash) === undefined) {
      r.problem([...apath, "tokenHash"], "not a secret hash: make one with `syncup secret hash`");
    }
    admins[adminId] = { id: adminId, tokenHash: admin.tokenHash, role: admin.role };
  }
  return admins;
}

/** The agent's connectors must be the configuration's. */
export function checkAgent(raw: RawConfig, r: Resolving): void {
  raw.agent?.connectors?.forEach((c, i) => {
    if (!(c in raw.connectors)) r.problem(["agent", "connectors", i], `unknown connector "${c}"`);
  });
}

/** The database URL: `$SYNCUP_DATABASE_URL` when set, else `database.url`, else the default. */
export function resolveDatabaseUrl(
  raw: RawConfig,
  env: Readonly<Record<string, string | undefined>>,
  r: Resolving,
): string {
  const fromEnv = env["SYNCUP_DATABASE_URL"];
  const databaseUrl =
    fromEnv !== undefined && fromEnv !== "" ? fromEnv : (raw.database?.url ?? DEFAULT_DATABASE_URL);
  const urlProblem = databaseUrlProblem(databaseUrl);
  if (urlProblem !== undefined) {
    r.problem(
      ["database", "url"],
      `${urlProblem}${databaseUrl === fromEnv ? " (from $SYNCUP_DATABASE_URL)" : ""}`,
    );
  }
  return databaseUrl;
}

/** The server's section, defaults applied; its folders below `workDir` unless configured. */
export function serverDef(
  raw: RawConfig,
  workDir: string,
  agents: Record<string, ServerAgentDef>,
  admins: Record<string, ServerAdminDef>,
  adminTokenHash: string | null,
  changeFeed: ChangeFeedDef | null,
  r: Resolving,
): ServerDef {
  return {
    host: raw.server?.host ?? "127.0.0.1",
    port: raw.server?.port ?? DEFAULT_SERVER_PORT,
    batchDir: r.abs(raw.server?.batchDir ?? resolve(workDir, "batches")),
    adminTokenHash,
    admins,
    maxFileBytes: (raw.server?.maxFileMiB ?? DEFAULT_MAX_FILE_MIB) * 1024 * 1024,
    uploadTimeoutMs: (raw.server?.uploadTimeoutMinutes ?? DEFAULT_UPLOAD_TIMEOUT_MINUTES) * 60_000,
    session: {
      lifetimeMs: (raw.server?.sessionMinutes ?? DEFAULT_SESSION_MINUTES) * 60_000,
      idleMs: (raw.server?.sessionIdleMinutes ?? DEFAULT_SESSION_IDLE_MINUTES) * 60_000,
    },
    rateLimit: {
      failedAuthentications: raw.server?.rateLimit?.failedAuthentications ?? DEFAULT_FAILED_AUTHENTICATIONS,
      windowMs: (raw.server?.rateLimit?.windowSeconds ?? DEFAULT_RATE_WINDOW_SECONDS) * 1000,
    },
    agents,
    changeFeed,
  };
}

/** The agent's section, defaults applied, or null when the configuration has none. */
export function agentDef(raw: RawConfig, r: Resolving): AgentDef | null {
  const rawAgent = raw.agent;
  if (rawAgent === undefined) return null;
  return {
    id: rawAgent.id,
    serverUrl: rawAgent.server.replace(/\/+$/, ""),
    secret:
      rawAgent.secretEnv !== undefined
        ? { env: rawAgent.secretEnv }
        : { file: r.abs(rawAgent.secretFile ?? "") },
    connectors: rawAgent.connectors ?? Object.keys(raw.connectors),
    onDrift: rawAgent.onDrift ?? "complete",
    retries: rawAgent.retries ?? DEFAULT_AGENT_RETRIES,
    requestTimeoutMs: (rawAgent.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_SECONDS) * 1000,
  };
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
export function resolveSqliteUrl(url: string, baseDir: string): string {
  if (!url.startsWith("sqlite:")) return url;
  const path = url.slice("sqlite:".length);
  if (path === ":memory:" || isAbsolute(path)) return url;
  return `sqlite:${resolve(baseDir, path)}`;
}
