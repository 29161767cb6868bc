/**
 * The folders a configuration names, checked on disk when it is loaded: each must be a folder,
 * or not exist yet with a folder as its nearest existing ancestor (the commands make it). A
 * file in a folder's place would otherwise fail a command half-way, with ENOTDIR or EEXIST.
 */
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Config } from "./config.js";
import type { ConfigProblem } from "./resolve.js";

interface Folder {
  readonly path: (string | number)[];
  /** What the configuration calls it, for the message. */
  readonly what: string;
  readonly folder: string;
}

/** The folders of `config` that a file stands in the way of, each with its configuration path. */
export async function folderProblems(config: Config): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  // One problem per file in the way: the folders under the work folder share its file.
  const blockers = new Set<string>();
  for (const { path, what, folder } of foldersOf(config)) {
    const blocker = await fileInTheWay(folder);
    if (blocker === undefined || blockers.has(blocker)) continue;
    blockers.add(blocker);
    problems.push({
      path,
      message:
        blocker === folder
          ? `${what} "${folder}" is a file, not a folder`
          : `${what} "${folder}" cannot be made: "${blocker}" is a file, not a folder`,
    });
  }
  return problems;
}

function foldersOf(config: Config): Folder[] {
  const folders: Folder[] = [
    { path: ["workDir"], what: "the work folder", folder: config.workDir },
    { path: ["exportDir"], what: "the export folder", folder: config.exportDir },
    { path: ["prepare", "tempDir"], what: "the temporary folder", folder: config.prepare.tempDir },
    { path: ["server", "batchDir"], what: "the batch folder", folder: config.server.batchDir },
  ];
  if (config.databaseUrl.startsWith("sqlite:") && config.databaseUrl !== "sqlite::memory:") {
    const file = config.databaseUrl.slice("sqlite:".length);
    folders.push({ path: ["database", "url"], what: "the database's folder", folder: dirname(file) });
  }
  for (const connector of Object.values(config.connectors)) {
    for (const connection of Object.values(connector.connections)) {
      const at = ["connectors", connector.name, "connections", connection.name];
      if (connection.type === "csv") {
        folders.push({ path: [...at, "path"], what: "the connection's folder", folder: connection.path });
        folders.push({
          path: [...at, "incrementalPath"],
          what: "the connection's incremental folder",
          folder: connection.incrementalPath,
        });
      } else if (connection.type === "command") {
        folders.push({ path: [...at, "cwd"], what: "the command's folder", folder: connection.cwd });
      }
    }
  }
  return folders;
}

/** `folder` itself or the ancestor of it that exists and is not a folder, or undefined. */
async function fileInTheWay(folder: string): Promise<string | undefined> {
  for (let path = folder; ; path = dirname(path)) {
    try {
      return (await stat(path)).isDirectory() ? undefined : path;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOENT: not made yet, look at its parent; ENOTDIR: a file among its ancestors, found above.
      if ((code !== "ENOENT" && code !== "ENOTDIR") || dirname(path) === path) return undefined;
    }
  }
}
