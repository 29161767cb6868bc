/**
 * The admin console at `/`: the files `npm run build` bundles into `dist/console` (an
 * `index.html`, its scripts and styles; nothing loaded from elsewhere), served as they are with
 * a Content-Security-Policy that allows this origin only. The console signs in and reads through
 * the same `/api/v1` routes as any client.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyBaseLogger } from "fastify";
import type { Api } from "./deps.js";

/** `dist/console`, from `src/server/routes` (tests) and from `dist/server/routes` (the package) alike. */
export const CONSOLE_DIR = join(resolve(import.meta.dirname, "..", "..", ".."), "dist", "console");

const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export async function registerConsole<L extends FastifyBaseLogger>(
  app: Api<L>,
  dir = CONSOLE_DIR,
): Promise<void> {
  if (!existsSync(join(dir, "index.html"))) {
    app.get("/", { schema: { hide: true } }, (_request, reply) =>
      reply
        .type("text/plain; charset=utf-8")
        .send("The admin console is not built: run `npm run build`, then restart `syncup server`."),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: "/",
    wildcard: false,
    decorateReply: false,
    index: "index.html",
    setHeaders: (reply) => {
      void reply.header("content-security-policy", CSP);
      void reply.header("x-content-type-options", "nosniff");
      void reply.header("referrer-policy", "no-referrer");
    },
  });
}
