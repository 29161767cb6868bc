/**
 * The per-connector lock of the agent's work folder: `<workDir>/<connector>/.lock`, holding
 * the pid of the process that runs a job of the connector (and the job's name). Every job of a
 * connector shares its work folder (exports, prepared files, `previous/`, `transfer.json`), so
 * two jobs of one connector never run at once, in one process or in several. A lock whose
 * process is gone is taken over (`src/support/file-lock.ts`).
 */
import { join } from "node:path";
import type { Config } from "../config/config.js";
import { SyncupError } from "../errors.js";
import { connectorDir } from "../prepare/layout.js";
import { acquireFileLock, type FileLock } from "../support/file-lock.js";

export type ConnectorLock = FileLock;

export function lockPath(config: Config, connector: string): string {
  return join(connectorDir(config, connector), ".lock");
}

/**
 * Takes the lock of `connector` for `job`, or throws JOB_RUNNING naming the process (and job)
 * that holds it. A stale lock is taken over.
 */
export function acquireLock(config: Config, connector: string, job: string): Promise<ConnectorLock> {
  const path = lockPath(config, connector);
  return acquireFileLock(path, job, (holder) => {
    if (holder === undefined) {
      return new SyncupError(
        "JOB_RUNNING",
        `Connector "${connector}": could not take the lock "${path}": other processes keep competing for it.`,
      );
    }
    const what = holder.job === undefined ? "a job" : `job "${holder.job}"`;
    const who = holder.pid === undefined ? "a process that is starting" : `process ${holder.pid}`;
    return new SyncupError(
      "JOB_RUNNING",
      `Connector "${connector}" is busy: ${what} runs in ${who} (lock "${path}"). Wait for it to finish; if that process is gone, remove the lock file.`,
    );
  });
}

/** Runs `fn` holding the lock of `connector`; the lock is released however `fn` ends. */
export async function withConnectorLock<T>(
  config: Config,
  connector: string,
  job: string,
  fn: () => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(config, connector, job);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
