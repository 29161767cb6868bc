/**
 * The per-connector lock of the agent's work folder: `<workDir>/<connector>/.lock`, holding the
 * pid of the process that runs a step of the connector's Sync Up (and what it runs). Every step
 * of a connector shares that folder (exports, prepared files, `previous/`, `transfer.json`): a
 * run holds the lock from its export to its accept, so that no other export, prepare or accept
 * of the connector falls between them, in this process or another. A lock whose process is gone
 * is taken over (`file-lock.ts`).
 *
 * The lock is re-entrant along one chain of calls (AsyncLocalStorage): a run holds it, and the
 * export, prepare and accept that the run calls, which take it too when called on their own,
 * find it held by their caller. Two separate calls in one process still exclude each other.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { join } from "node:path";
import { SyncupError } from "../errors.js";
import { acquireFileLock, type FileLock } from "./file-lock.js";

const held = new AsyncLocalStorage<ReadonlySet<string>>();

export function connectorLockPath(workDir: string, connector: string): string {
  return join(workDir, connector, ".lock");
}

/**
 * Takes the lock of `connector` for `job`, or throws JOB_RUNNING naming the process (and job)
 * that holds it. A stale lock is taken over.
 */
export function acquireConnectorLock(workDir: string, connector: string, job: string): Promise<FileLock> {
  const path = connectorLockPath(workDir, connector);
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

/**
 * Runs `fn` holding the lock of `connector` (unless the calling chain already holds it); the
 * lock is released however `fn` ends.
 */
export async function withConnectorLock<T>(
  workDir: string,
  connector: string,
  job: string,
  fn: () => Promise<T>,
): Promise<T> {
  const path = connectorLockPath(workDir, connector);
  const mine = held.getStore();
  if (mine?.has(path) === true) return fn();
  const lock = await acquireConnectorLock(workDir, connector, job);
  try {
    return await held.run(new Set([...(mine ?? []), path]), fn);
  } finally {
    await lock.release();
  }
}
