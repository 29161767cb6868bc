/** Helpers of the agent and job tests: a pino logger whose lines the test reads, a quickstart copy. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pino, type Logger } from "pino";

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger writing JSON lines into `lines`. */
export function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

export const ROOT = resolve(import.meta.dirname, "..", "..");

/**
 * Copies the quickstart example into a fresh folder, with its work folder and SQLite database
 * inside it, and `jobs` (YAML text, indented by two) in place of the example's; `extra` is
 * appended (an `agent` section). Returns the folder and the configuration's path.
 */
export function quickstartCopy(jobs: string, extra = ""): { dir: string; configFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "syncup-jobs-"));
  cpSync(join(ROOT, "examples", "quickstart"), dir, { recursive: true });
  const configFile = join(dir, "syncup.yaml");
  const text = readFileSync(configFile, "utf8")
    .replace("workDir: ../../work", "workDir: ./work")
    .replace("sqlite:../../data/syncup.db", "sqlite:./data/syncup.db");
  const head = text.slice(0, text.indexOf("\njobs:"));
  writeFileSync(configFile, `${head}\njobs:\n${jobs}\n${extra}\n`);
  return { dir, configFile };
}

/** An `agent` section for the peer at `url`, its secret read from $SYNCUP_AGENT_SECRET. */
export function agentSection(
  url: string,
  options: { onDrift?: "complete" | "stop"; connectors?: string[] } = {},
): string {
  return [
    "agent:",
    "  id: agent1",
    `  server: ${url}`,
    "  secretEnv: SYNCUP_AGENT_SECRET",
    "  retries: 1",
    "  requestTimeoutSeconds: 10",
    ...(options.onDrift === undefined ? [] : [`  onDrift: ${options.onDrift}`]),
    ...(options.connectors === undefined ? [] : [`  connectors: [${options.connectors.join(", ")}]`]),
  ].join("\n");
}

export const AGENT_ENV = { SYNCUP_AGENT_SECRET: "s3cret" };
