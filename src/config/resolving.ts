/**
 * What the steps of `resolveConfig` share: the problems they find, each at its path in the
 * configuration, and the folder relative paths are relative to.
 */
import { isAbsolute, resolve } from "node:path";
import type { RawConfig } from "./schema.js";

/** A path in the configuration: `["connectors", "AD", "connections", "ad", "path"]`. */
export type ConfigPath = (string | number)[];

export interface ConfigProblem {
  path: ConfigPath;
  message: string;
}

/** One resolution: its problems so far, and how a configured path becomes absolute. */
export interface Resolving {
  readonly problems: ConfigProblem[];
  /** Records a problem at `path`. */
  readonly problem: (path: ConfigPath, message: string) => void;
  /** `path`, absolute: a relative one is relative to the configuration file's folder. */
  readonly abs: (path: string) => string;
}

export function resolving(baseDir: string): Resolving {
  const problems: ConfigProblem[] = [];
  return {
    problems,
    problem: (path, message) => {
      problems.push({ path, message });
    },
    abs: (p) => (isAbsolute(p) ? p : resolve(baseDir, p)),
  };
}

export type RawConnector = RawConfig["connectors"][string];
export type RawConnection = RawConnector["connections"][string];
