/**
 * JSON files that the agent keeps between runs (`prepare.json`, `previous/manifest.json`,
 * `transfer.json`): written whole or not at all, read back as "absent" when missing.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import { SyncupError } from "../errors.js";
import { temporaryPath } from "./temporary-path.js";

/**
 * Writes a JSON file atomically: temporary name, fsync, rename. The temporary name is the CSV
 * writer's too (`<path>.tmp-<pid>-<hex>`), so that the removal of killed runs' files finds it too.
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = temporaryPath(path);
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Reads a text file, or undefined when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Reads a JSON file, or undefined when it does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new SyncupError("PREVIOUS_INVALID", `"${path}" is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
