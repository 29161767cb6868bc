/**
 * The per-connector lock of the agent's work folder, as the jobs take it: one job of a
 * connector at a time, and no other step of its Sync Up meanwhile (`support/connector-lock.ts`).
 */
import type { Config } from "../config/config.js";
import {
  acquireConnectorLock,
  connectorLockPath,
  withConnectorLock as withLock,
} from "../support/connector-lock.js";
import type { FileLock } from "../support/file-lock.js";

export type ConnectorLock = FileLock;

export function lockPath(config: Config, connector: string): string {
  return connectorLockPath(config.workDir, connector);
}

/** Takes the lock of `connector` for `job`, or throws JOB_RUNNING naming its holder. */
export function acquireLock(config: Config, connector: string, job: string): Promise<ConnectorLock> {
  return acquireConnectorLock(config.workDir, connector, job);
}

/** Runs `fn` holding the lock of `connector`; the lock is released however `fn` ends. */
export function withConnectorLock<T>(
  config: Config,
  connector: string,
  job: string,
  fn: () => Promise<T>,
): Promise<T> {
  return withLock(config.workDir, connector, job, fn);
}
