/** Named administrators for the server tests: a viewer and an approver added to `server.admins`. */
import { readFileSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import type { Config } from "../../src/config/config.js";
import { hashSecret } from "../../src/protocol/secret-hash.js";
import type { RunningServer } from "../../src/server/server.js";
import { AS_HR, Api, bearer, makeEnv, serve, type TestEnv } from "./helpers.js";

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

/**
 * A server over a fresh repository (`url`) with the viewer and the approver, both cleaned
 * after the test (`cleanup`: `cleanedAfterEach()`), and its API as the HR agent and as each.
 */
export async function serveWithAdmins(
  url: string,
  cleanup: { readonly envs: TestEnv[]; readonly servers: RunningServer[] },
  server: Record<string, unknown> = {},
) {
  const base = await makeEnv(url);
  cleanup.envs.push(base);
  const env = { ...base, config: await withAdmins(base, server) };
  const running = await serve(env.config);
  cleanup.servers.push(running);
  const anonymous = new Api(running.url, null);
  return {
    env,
    server: running,
    anonymous,
    hr: anonymous.as(AS_HR),
    viewer: anonymous.as(AS_VIEWER),
    approver: anonymous.as(AS_APPROVER),
  };
}
