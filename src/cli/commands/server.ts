import { InvalidArgumentError } from "commander";
import { loadConfig } from "../../config/load.js";
import { SyncupError } from "../../errors.js";
import { hashSecret } from "../../protocol/secret-hash.js";
import { print } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { applyPauseHook } from "../fault-hooks.js";
import { logLevel, streamLogger } from "../log.js";
import { runUntilSignalled } from "../signals.js";
import type { DefineCommand } from "../command.js";

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port number");
  return n;
}

/** `syncup server`: the HTTP API and batch queue, until SIGTERM. */
export const defineServerCommand: DefineCommand = (program, ctx, setExit) => {
  program
    .command("server")
    .description(
      "Run the server: the agents' batch protocol, the batch queue, the API (JSON logs on stdout).",
    )
    .option("-c, --config <file>", "configuration file", "syncup.yaml")
    .option("--host <address>", "address to listen on (default: server.host, 127.0.0.1)")
    .option("--port <n>", "port to listen on (default: server.port, 8080; 0 picks a free one)", parsePort)
    .action(async (opts: { config: string; host?: string; port?: number }) => {
      const config = await loadConfig(opts.config, ctx.env);
      const log = streamLogger(ctx.stdout, logLevel(ctx.env));
      const pause = applyPauseHook(ctx.env, (step) =>
        log.warn({ step }, `paused before the apply step "${step}" (SYNCUP_TEST_APPLY_PAUSE_MS)`),
      );
      // Imported here: the HTTP server's libraries are the heaviest of the CLI's, and no other
      // command needs them.
      const { startServer } = await import("../../server/server.js");
      const server = await startServer(config, {
        log,
        ...(opts.host === undefined ? {} : { host: opts.host }),
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(pause === undefined ? {} : { beforeApplyStep: pause }),
      });
      await runUntilSignalled(
        { name: "Server", stop: () => server.close(), busy: () => server.worker.busy() },
        log,
        process,
        (code) => process.exit(code),
      );
      setExit(EXIT.OK);
    });
};

/** `syncup secret hash`: the hash to put in the server's configuration for a secret or token. */
export const defineSecretCommand: DefineCommand = (program, ctx, setExit) => {
  program
    .command("secret")
    .description("Agent secrets and the admin token.")
    .command("hash")
    .description(
      "Print the hash of a secret (read from stdin, or from the environment variable given), for server.agents.<id>.secretHash or server.adminTokenHash.",
    )
    .option("--from-env <variable>", "read the secret from this environment variable")
    .action(async (opts: { fromEnv?: string }) => {
      let secret: string;
      if (opts.fromEnv !== undefined) {
        secret = ctx.env[opts.fromEnv] ?? "";
      } else {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        secret = Buffer.concat(chunks)
          .toString("utf8")
          .replace(/\r?\n$/, "");
      }
      if (secret.length < 16 || /\s|:/.test(secret)) {
        throw new SyncupError(
          "CONFIG_INVALID",
          "A secret must be at least 16 characters, without spaces or ':' (try `openssl rand -hex 32`).",
        );
      }
      print(ctx.stdout, await hashSecret(secret));
      setExit(EXIT.OK);
    });
};
