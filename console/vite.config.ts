/**
 * The admin console's build: Preact pages bundled by Vite into `dist/console`, which
 * `syncup server` serves at `/` (`src/server/routes/console.ts`). Everything it needs is in
 * the bundle: no CDN, no web font, no request to another origin.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // One script and one style sheet: a small console loads in one round trip.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
