/**
 * Temporary files that a process killed in the middle of a step left behind (a kill -9, a crash,
 * a power cut): the `<file>.tmp-<pid>-<hex>` of atomic writes (`support/temporary-path.ts`), up
 * to the size of a prepared file each, and the sort's folders `syncup-sort-<pid>-…`. Nothing else
 * would ever remove them. A prepare removes them as it starts:
 *
 * - in the connector's work folder, and those of its tables' files in the export folder: all of
 *   them. The prepare holds the connector's lock (`support/connector-lock.ts`), which every step
 *   that writes there holds too (export, prepare, accept, the agent's transfer): none is at work.
 * - in the temporary folder, which every connector shares: the sort folders of processes that are
 *   gone, or that started after the folder was last written (its pid was reused).
 */
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Config, ConnectorDef } from "../config/config.js";
import { sortFolderPid } from "../sort/external-sort.js";
import { mayBeInUse } from "../support/process-start.js";
import { parseTemporaryName } from "../support/temporary-path.js";
import { connectorDir } from "./layout.js";

/** Removes the connector's leftover temporary files (see above); returns their paths. */
export async function removeLeftovers(config: Config, connector: ConnectorDef): Promise<string[]> {
  const removed: string[] = [];
  const remove = async (path: string): Promise<void> => {
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  };
  for (const name of await namesIn(connectorDir(config, connector.name))) {
    if (parseTemporaryName(name) !== undefined)
      await remove(join(connectorDir(config, connector.name), name));
  }
  const tables = new Set(Object.values(connector.tables).map((t) => `${t.name}.csv`));
  for (const name of await namesIn(config.exportDir)) {
    const temporary = parseTemporaryName(name);
    if (temporary !== undefined && tables.has(temporary.target)) await remove(join(config.exportDir, name));
  }
  for (const name of await namesIn(config.prepare.tempDir)) {
    const pid = sortFolderPid(name);
    if (pid === undefined) continue;
    const path = join(config.prepare.tempDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && !(await mayBeInUse(pid, info.mtimeMs))) await remove(path);
  }
  return removed;
}

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}
