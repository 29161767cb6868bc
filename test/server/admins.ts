/** Named administrators for the server tests: a viewer and an approver added to `server.admins`. */
import { readFileSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import type { Config } from "../../src/config/config.js";
import { hashSecret } from "../../src/protocol/secret-hash.js";
import { bearer, type TestEnv } from "./helpers.js";

export const VIEWER = { id: "ida", token: "viewer-t0ken" } as const;
export const APPROVER = { id: "alex", token: "approver-t0ken" } as const;
export const AS_VIEWER = bearer(VIEWER.id, VIEWER.token);
export const AS_APPROVER = bearer(APPROVER.id, APPROVER.token);

/** Adds the viewer and the approver (and `server` settings) to the configuration; answers it reloaded. */
export async function withAdmins(env: TestEnv, server: Record<string, unknown> = {}): Promise<Config> {
  const raw = parse(readFileSync(env.configPath, "utf8")) as { server: Record<string, unknown> };
  Object.assign(raw.server, server);
  raw.server["admins"] = {
    [VIEWER.id]: { tokenHash: await hashSecret(VIEWER.token), role: "viewer" },
    [APPROVER.id]: { tokenHash: await hashSecret(APPROVER.token), role: "approver" },
  };
  writeFileSync(env.configPath, stringify(raw));
  return env.reload();
}
