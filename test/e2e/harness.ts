/**
 * End-to-end harness: real `syncup` processes (server, agents) on loopback, a TCP proxy that
 * cuts or slows connections, and a comparison of what the repository holds.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server, type Socket, connect as netConnect } from "node:net";
import { join, resolve } from "node:path";
import { openStore } from "../../src/store/store.js";
import { snapshot } from "../sync/helpers.js";

export const root = resolve(import.meta.dirname, "..", "..");
const bin = join(root, "bin", "syncup.js");

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => ok(port));
    });
  });
}

export interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `syncup …` to its end (asynchronously: the proxy lives in this process). */
export function syncup(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Finished> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code, signal) => ok({ code: code ?? (signal === null ? -1 : 128), stdout, stderr }));
  });
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env["SYNCUP_DATABASE_URL"];
  delete env["SYNCUP_TEST_APPLY_PAUSE_MS"];
  return { ...env, ...extra };
}

/** A `syncup server` process. */
export class ServerProcess {
  private output = "";
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((ok) => child.on("exit", (code) => ok(code)));
  }

  static async start(options: {
    cwd: string;
    config: string;
    port: number;
    env?: Record<string, string>;
  }): Promise<ServerProcess> {
    const child = spawn(
      process.execPath,
      [bin, "server", "--config", options.config, "--port", String(options.port)],
      { cwd: options.cwd, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"] },
    );
    const server = new ServerProcess(child);
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const answer = await fetch(`http://127.0.0.1:${options.port}/health`);
        if (answer.ok) return server;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`syncup server did not start (exit ${child.exitCode}):\n${server.output}`);
      }
      await sleep(100);
    }
  }

  get log(): string {
    return this.output;
  }

  /** SIGKILL: no chance to finish anything, as a crash or an OOM kill. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM: graceful stop; resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.child.kill("SIGTERM");
    return this.exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/** Polls `check` until it returns a value, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * A TCP proxy in front of the server. `cut(n, bytes)`: the next `n` connections that carry
 * more than `bytes` from the client are destroyed right there, mid-request. `throttle(bps)`:
 * client bytes are forwarded at most at that rate.
 */
export class Proxy {
  private server: Server | null = null;
  private cuts = 0;
  private cutAfter = 0;
  private bytesPerSecond = 0;
  private readonly sockets = new Set<Socket>();
  cutsDone = 0;

  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((ok) => this.server!.listen(this.port, "127.0.0.1", ok));
  }

  cut(connections: number, afterBytes: number): void {
    this.cuts = connections;
    this.cutAfter = afterBytes;
  }

  throttle(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  private pipe(client: Socket): void {
    const upstream = netConnect(this.target, "127.0.0.1");
    this.sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    upstream.on("data", (d: Buffer) => client.write(d));
    let seen = 0;
    let doomed = false;
    let queue = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (!doomed && this.cuts > 0 && seen > this.cutAfter) {
        doomed = true;
        this.cuts--;
        this.cutsDone++;
        upstream.write(chunk.subarray(0, Math.max(0, chunk.length - (seen - this.cutAfter))));
        close();
        return;
      }
      if (this.bytesPerSecond <= 0) {
        upstream.write(chunk);
        return;
      }
      client.pause();
      queue = queue.then(async () => {
        for (let i = 0; i < chunk.length; i += 1024) {
          if (upstream.destroyed) return;
          upstream.write(chunk.subarray(i, i + 1024));
          await sleep((1024 / this.bytesPerSecond) * 1000);
        }
        client.resume();
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => (this.server === null ? ok() : this.server.close(() => ok())));
  }
}

/** What the repository holds of a connector, by key (ids and batches left out). */
export async function repositoryContent(
  url: string,
  connector: string,
): Promise<Awaited<ReturnType<typeof snapshot>>> {
  const store = await openStore(url);
  try {
    return await snapshot(store, connector);
  } finally {
    await store.close();
  }
}
