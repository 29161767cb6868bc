import { pino, type Logger } from "pino";

/** A pino logger writing JSON lines to `stream` (the agent's and the server's logs). */
export function streamLogger(stream: NodeJS.WritableStream, level: pino.LevelWithSilent = "info"): Logger {
  return pino(
    { name: "syncup", level, timestamp: pino.stdTimeFunctions.isoTime },
    { write: (line: string) => stream.write(line) },
  );
}

/** The log level of `SYNCUP_LOG_LEVEL`, default info. */
export function logLevel(env: Readonly<Record<string, string | undefined>>): pino.LevelWithSilent {
  const level = env["SYNCUP_LOG_LEVEL"];
  return level !== undefined && level in pino.levels.values ? (level as pino.LevelWithSilent) : "info";
}
