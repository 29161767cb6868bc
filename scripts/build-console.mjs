#!/usr/bin/env node
/**
 * `npm run build`'s second step: bundles the admin console (`console/`) into `dist/console`
 * with Vite — only when a file it is built from (the console's sources, its Vite
 * configuration, the lockfile's versions of Preact and Vite) is newer than the last bundle,
 * so that an unchanged tree costs a look at a few file dates, as `tsc -b` does for the rest.
 * `--force` bundles anyway.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const bundle = join(root, "dist", "console", "index.html");

/** The newest modification time under `dir`, folders included (a file removed changes its folder's). */
function newest(dir) {
  let latest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const inputs = Math.max(newest(join(root, "console")), statSync(join(root, "package-lock.json")).mtimeMs);
if (process.argv.includes("--force") || !existsSync(bundle) || statSync(bundle).mtimeMs < inputs) {
  execFileSync(
    process.execPath,
    [join(root, "node_modules", "vite", "bin", "vite.js"), "build", "--config", "console/vite.config.ts"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}
