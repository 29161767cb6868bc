import { spawn } from "node:child_process";
import { SyncupError } from "../errors.js";

export interface CommandResult {
  readonly exitCode: number;
  readonly stderrTail: string;
  readonly seconds: number;
}

const STDERR_TAIL_BYTES = 4096;

/**
 * Runs an external export program (no shell), passing `env` on top of the process's own.
 * A non-zero exit, a signal or a timeout is an EXPORT_COMMAND_FAILED error that quotes the
 * end of the program's standard error.
 */
export async function runCommand(options: {
  command: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  timeoutSeconds: number;
  label: string;
  onStderr?: (chunk: string) => void;
}): Promise<CommandResult> {
  const [program, ...args] = options.command;
  if (program === undefined)
    throw new SyncupError("CONFIG_INVALID", `${options.label}: the command is empty`);
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    let stderr = "";
    let timedOut = false;
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    }, options.timeoutSeconds * 1000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      options.onStderr?.(chunk);
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new SyncupError(
          "EXPORT_COMMAND_FAILED",
          `${options.label}: cannot start "${program}" (${error.code ?? error.message}). Check the connection's command and cwd.`,
          { cause: error },
        ),
      );
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const tail = stderr.trim();
      if (code === 0) {
        resolvePromise({ exitCode: 0, stderrTail: tail, seconds });
        return;
      }
      const why = timedOut
        ? `was stopped after its timeout of ${options.timeoutSeconds} s`
        : signal !== null
          ? `was killed by ${signal}`
          : `exited with code ${code ?? "?"}`;
      reject(
        new SyncupError(
          "EXPORT_COMMAND_FAILED",
          `${options.label}: "${options.command.join(" ")}" ${why}.${tail ? `\nIts standard error ended with:\n${tail}` : " It wrote nothing to standard error."}`,
        ),
      );
    });
  });
}
